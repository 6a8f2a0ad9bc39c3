# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HAProxy through its Runtime API (the admin stats socket).

Each service's backend has two server slots. A swap writes the new address into the idle slot
while it is in maintenance, makes it ready, puts the live slot in drain (no new requests, the
in-flight ones finish), waits for its sessions to end, then puts it in maintenance. No reload,
so no connection is ever closed by the swap. The slots' state is dumped to HAProxy's
server-state file so a reload or restart comes back routed the same way.

On a shared load balancer every app host (a member) has its own pair of slots in the service's
backend, named <member>_a and <member>_b: a driver made for a member reads and swaps only those,
so a swap for one host never touches another host's servers.
"""

from __future__ import annotations

import csv
import io
import re
import socket

from ansible_collections.cutover.deploy.plugins.module_utils._files import write_atomic
from ansible_collections.cutover.deploy.plugins.module_utils._naming import members

from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import (
    Driver, ProxyError, RouteNotFound, split_upstream, wait_until,
)

# the official image, for proxy.runtime container (a host without systemd, by default)
DEFAULT_IMAGE = 'docker.io/library/haproxy:2.6'

# srv_admin_state bits that keep a server from taking new requests (CMAINT, which only records that
# the configuration said "disabled", stays set once the slot is made ready at run time, so it is not here).
_MAINT = 0x01 | 0x02 | 0x20 | 0x40
_DRAIN = 0x08 | 0x10


# show stat columns: answers by class, and requests that got no answer from the server
ANSWERS = ('hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other')
NO_ANSWER = ('eresp', 'econ')


def counters(row):
    """The counters of one `show stat` server row (a dict of its CSV columns). Pure."""
    return {k: int(row.get(k) or 0) for k in ANSWERS + NO_ANSWER}


def parse_servers_state(text):
    """Rows of `show servers state` as dicts (name, addr, port, op_state, admin_state, weight, initial_weight)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    header = next((ln for ln in lines if ln.startswith('# ')), None)
    if header is None:
        return []
    cols = header[2:].split()
    rows = []
    for ln in lines:
        if ln.startswith('#') or len(ln.split()) < len(cols) or not ln[0].isdigit():
            continue
        row = dict(zip(cols, ln.split()))
        rows.append(dict(backend=row['be_name'], name=row['srv_name'], addr=row['srv_addr'],
                         port=int(row['srv_port']), op_state=int(row['srv_op_state']),
                         admin_state=int(row['srv_admin_state']), weight=int(row.get('srv_uweight', 1)),
                         initial_weight=int(row.get('srv_iweight', 1))))
    return rows


def member_slot_names(member, pairs=1):
    """The server names of a member's slots in a shared backend, or of the backend's own: a pair (a, b) per
    replica, the first pair's names as they always were (a, b, then a2, b2, ...)."""
    names = [n + ('%d' % i if i > 1 else '') for i in range(1, pairs + 1) for n in ('a', 'b')]
    return tuple('%s_%s' % (member, n) if member else n for n in names)


def is_slot_name(name, member):
    """Whether a server of a service's backend is one of the member's slots (or the backend's own). Pure."""
    return re.fullmatch((re.escape(member) + '_' if member else '') + r'[ab](?:[2-9]|[1-9][0-9]+)?', name) is not None


def slot_role(slot):
    """'serving', 'draining' or 'idle' for one server slot.

    Only the admin state (what Cutover set) decides: a routed slot whose health check is failing
    (op_state 0, its container restarting) is still the route, not a free slot.
    """
    if slot['admin_state'] & _MAINT:
        return 'idle'
    if slot['admin_state'] & _DRAIN:
        return 'draining'
    return 'serving'


def weights_off_in(slots):
    """The serving slots at a weight other than their initial one: a canary's share. Pure."""
    return [s['name'] for s in slots if slot_role(s) == 'serving' and s.get('weight', 1) != s.get('initial_weight', 1)]


def upstream_of(slot):
    return '%s:%d' % (slot['addr'], slot['port'])


def serving_slots(slots, upstream, what='upstream'):
    """The slots that serve upstream (one, or a release's replicas joined by commas), or raise ProxyError naming what
    the route serves instead. Pure."""
    wanted = members(upstream)
    found = [s for s in slots if slot_role(s) == 'serving' and upstream_of(s) in wanted]
    if len(found) != len(wanted):
        raise ProxyError('the route does not serve the %s %s (serving: %s)' % (
            what, upstream, ', '.join(upstream_of(s) for s in slots if slot_role(s) == 'serving') or 'nothing'))
    return found


def plan_upsert(slots, upstream):
    """Runtime API commands (without the backend prefix) that make upstream the only serving slot, or the
    upstreams of a release's replicas (joined by commas) the only serving slots.

    Pure. Reuses a slot that already holds an upstream (a rollback to the slot just drained), else
    the first idle slot. Raises ProxyError when no slot is free.
    """
    wanted = members(upstream)
    addresses = {u: split_upstream(u) for u in wanted}
    serving = [s for s in slots if slot_role(s) == 'serving']
    targets, used = {}, []
    for u in wanted:
        target = next((s for s in slots if upstream_of(s) == u and slot_role(s) == 'serving' and s not in used), None) \
            or next((s for s in slots if upstream_of(s) == u and s not in used), None)
        if target is not None:
            targets[u] = target
            used.append(target)
    for u in wanted:
        if u not in targets:
            target = next((s for s in slots if slot_role(s) == 'idle' and s not in used and upstream_of(s) not in wanted), None)
            if target is None:
                raise ProxyError('no idle server slot: every slot is serving or draining (%s); a backend needs two '
                                 'slots per replica, and a previous drain must end first'
                                 % ', '.join('%s=%s' % (s['name'], slot_role(s)) for s in slots))
            targets[u] = target
            used.append(target)
    cmds = []
    for u in wanted:
        target, (host, port) = targets[u], addresses[u]
        if target.get('weight', 1) != target.get('initial_weight', 1):
            # a canary left its own weight on the slot: the only serving slot takes every request again
            cmds.append('set server %%s/%s weight %d' % (target['name'], target['initial_weight']))
        if upstream_of(target) != u:
            cmds.append(('set server %%s/%s addr %s port %d' % (target['name'], host, port)))
        if slot_role(target) != 'serving':
            cmds.append('set server %%s/%s state ready' % target['name'])
    cmds += ['set server %%s/%s state drain' % s['name'] for s in serving if s not in used]
    return cmds


class HAProxy(Driver):
    name = 'haproxy'

    def __init__(self, admin_socket='/run/haproxy/admin.sock', state_file=None, timeout=5.0, member=None):
        self.admin_socket = admin_socket
        self.state_file = state_file
        self.timeout = timeout
        self.member = member

    def command(self, cmd):
        """One Runtime API command; returns its answer text."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.admin_socket)
                sock.sendall(cmd.encode() + b'\n')
                chunks = []
                while True:
                    data = sock.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
        except OSError as exc:
            raise ProxyError('cannot reach the HAProxy Runtime API on %s (admin_socket): %s'
                             % (self.admin_socket, exc))
        answer = b''.join(chunks).decode('utf-8', 'replace')
        low = answer.lower()
        if 'unknown command' in low or 'permission denied' in low or low.startswith('no such'):
            raise ProxyError('HAProxy rejected %r: %s' % (cmd, answer.strip()))
        return answer

    def slots(self, backend):
        answer = self.command('show servers state %s' % backend)
        if "can't find backend" in answer.lower():
            raise RouteNotFound('HAProxy has no backend %r (route)' % backend)
        rows = [r for r in parse_servers_state(answer) if r['backend'] == backend and is_slot_name(r['name'], self.member)]
        if not rows:
            raise RouteNotFound('HAProxy backend %r has no server slots %s (route): %s'
                                % (backend, ' and '.join(member_slot_names(self.member)), answer.strip()))
        return rows

    def read(self, route):
        serving = sorted(upstream_of(s) for s in self.slots(route) if slot_role(s) == 'serving')
        return ','.join(serving) or None

    def upsert(self, route, upstream):
        for cmd in plan_upsert(self.slots(route), upstream):
            answer = self.command(cmd % route).strip()
            if answer and not answer.startswith(('no need', 'IP changed', 'port changed')) \
                    and 'changed from' not in answer:
                raise ProxyError('HAProxy answered %r to %r' % (answer, cmd % route))
        self.save_state()

    def server_stats(self, backend):
        """`show stat` rows of the backend's servers, by server name (dicts of the CSV columns)."""
        answer = self.command('show stat')
        rows = csv.DictReader(io.StringIO(answer.lstrip('# ')))
        return {r['svname']: r for r in rows if r.get('pxname') == backend and r.get('svname') not in ('FRONTEND', 'BACKEND')}

    def request_counters(self, route):
        return {name: counters(row) for name, row in self.server_stats(route).items()}

    def sessions(self, backend):
        """Current sessions + queued requests per server of the backend (from `show stat`)."""
        return {name: int(r['scur'] or 0) + int(r['qcur'] or 0) for name, r in self.server_stats(backend).items()}

    def add_unweighted(self, route, slot, upstream):
        """Put upstream in an idle slot at weight 0 and make it ready: in the backend, taking no new requests
        until set_weight gives it a share (a canary's green)."""
        host, port = split_upstream(upstream)
        self.set_weight(route, slot['name'], 0)
        if upstream_of(slot) != upstream:
            self.command('set server %s/%s addr %s port %d' % (route, slot['name'], host, port))
        self.command('set server %s/%s state ready' % (route, slot['name']))

    def set_weight(self, route, slot, weight):
        answer = self.command('set server %s/%s weight %d' % (route, slot, weight)).strip()
        if answer:
            raise ProxyError('HAProxy answered %r to setting the weight of %s/%s' % (answer, route, slot))

    def drain(self, route, old_upstream, timeout):
        draining = [s['name'] for s in self.slots(route) if slot_role(s) == 'draining']

        def idle():
            busy = self.sessions(route)
            return all(busy.get(name, 0) == 0 for name in draining)
        return wait_until(idle, timeout)

    def wait_serving(self, route, upstream, timeout):
        # HAProxy may not have seen the stop yet (fall 2): an UP from before the start says nothing. Marked
        # down, the slot comes up again on HAProxy's first check that passes against the new process (every
        # second, rise 1). Nothing served from it meanwhile: its container was stopped.
        wanted = members(upstream)  # one, or a release's replicas
        for slot in self.slots(route):
            if upstream_of(slot) in wanted and slot_role(slot) == 'serving':
                self.command('set server %s/%s health down' % (route, slot['name']))
        return wait_until(lambda: all(any(upstream_of(s) == u and s['op_state'] == 2 for s in self.slots(route))
                                      for u in wanted), timeout, interval=0.2)

    def weights_off(self, route):
        return weights_off_in(self.slots(route))

    def reset_weights(self, route):
        slots = {s['name']: s for s in self.slots(route)}
        for name in weights_off_in(slots.values()):
            self.set_weight(route, name, slots[name]['initial_weight'])
        self.save_state()

    def finish_drain(self, route):
        for slot in self.slots(route):
            if slot_role(slot) == 'draining':
                self.command('set server %s/%s state maint' % (route, slot['name']))
        self.save_state()

    def set_certificate(self, path, pem):
        """Replace the certificate HAProxy serves from path (a file it loaded) with pem, at run time: a transaction
        (`set ssl cert`) then its commit. No reload: open connections keep theirs, new handshakes get the new one."""
        answer = self.command('set ssl cert %s <<\n%s\n' % (path, pem.strip()))
        if 'transaction' not in answer.lower():
            raise ProxyError('HAProxy did not take the new certificate for %s: %s' % (path, answer.strip()[-400:]))
        answer = self.command('commit ssl cert %s' % path)
        if 'success' not in answer.lower():
            self.command('abort ssl cert %s' % path)
            raise ProxyError('HAProxy did not commit the new certificate for %s: %s' % (path, answer.strip()[-400:]))

    def save_state(self):
        """Dump every slot's state to the server-state file (atomic) so reloads keep the route."""
        if not self.state_file:
            return
        write_atomic(self.state_file, self.command('show servers state'))
