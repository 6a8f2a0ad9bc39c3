# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy driver interface and the swap every driver shares.

A driver knows how to read a route's upstream, set it in place (a pure upsert: never delete then
add, so there is no moment without a route), and drain the old upstream. run_swap() is the one
swap sequence: read, upsert, read back (and swap back on a mismatch), drain.
"""

from __future__ import annotations

import contextlib
import socket
import time

from ansible_collections.cutover.deploy.plugins.module_utils._naming import joined, members

PROXY_TYPES = ('haproxy', 'caddy', 'nginx', 'npm')


class ProxyError(Exception):
    """The proxy could not be read or changed; the message says which proxy and what failed."""


class RouteNotFound(ProxyError):
    """The route (backend, @id, upstream file, proxy host) does not exist on the proxy."""


class Driver:
    """One proxy. Subclasses implement read, upsert and drain; all raise ProxyError."""

    name = 'proxy'

    def read(self, route):
        """Current upstream 'host:port' of the route, or None if it routes nowhere yet."""
        raise NotImplementedError

    def upsert(self, route, upstream):
        """Point the route at upstream in place."""
        raise NotImplementedError

    def drain(self, route, old_upstream, timeout):
        """Wait (at most timeout s) until old_upstream has no in-flight requests; True if drained,
        None if this proxy cannot observe it."""
        raise NotImplementedError

    def finish_drain(self, route):
        """After the drain: retire the old upstream for good (runs under the proxy lock)."""

    def wait_serving(self, route, upstream, timeout):
        """The routed upstream was just started again: wait (at most timeout s) until the proxy's own health
        check finds it serving. True when it does, None when this proxy has no check to watch."""
        return None

    def weights_off(self, route):
        """The route's serving servers at a weight other than their own (a canary's share left behind by a
        killed run). Proxies without weights have none."""
        return []

    def reset_weights(self, route):
        """Give each serving server of the route its own weight again (runs under the proxy lock)."""

    def request_counters(self, route):
        """{server slot: its request counters} of the route's servers, or None when this proxy has none to read. Read
        just before a swap, they are where a watch of the new release starts counting."""
        return None


def split_upstream(upstream):
    """('host', port) from 'host:port'; raises ValueError naming the field."""
    host, sep, port = (upstream or '').rpartition(':')
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError('upstream must be address:port with a port 1-65535, got %r' % (upstream,))
    return host, int(port)


def _hex_addr(host, port):
    """/proc/net/tcp's form of an IPv4 address:port (little-endian hex), or None for other forms."""
    try:
        packed = socket.inet_aton(host)
    except OSError:
        return None
    return '%s:%04X' % (''.join('%02X' % b for b in reversed(packed)), port)


def established_to(upstream, proc_net='/proc/net/tcp'):
    """Count of ESTABLISHED TCP connections from this host's network namespace to upstream.

    A proxy-agnostic view of in-flight work for proxies whose API does not show it (a proxy on
    the same host, or in a container with host networking).
    """
    host, port = split_upstream(upstream)
    if host == 'localhost':
        host = '127.0.0.1'
    want = _hex_addr(host, port)
    if want is None:
        return 0
    count = 0
    try:
        with open(proc_net) as f:
            next(f, None)
            for line in f:
                fields = line.split()
                if len(fields) > 3 and fields[2] == want and fields[3] == '01':  # 01 = ESTABLISHED
                    count += 1
    except OSError:
        return 0
    return count


def swap_plan(current, target):
    """The ordered steps of a swap from current to target (pure; tests pin the order)."""
    if current == target:
        return []
    steps = ['upsert', 'read_back']
    if current:
        steps.append('drain')
    return steps


def wait_until(predicate, timeout, interval=0.1, clock=time.monotonic, sleep=time.sleep):
    """Poll predicate() until it is true or timeout passes; returns its last value."""
    deadline = clock() + timeout
    while True:
        value = predicate()
        if value or clock() >= deadline:
            return value
        sleep(interval)


def run_swap(driver, route, upstream, drain_timeout, check_mode=False, clock=time.monotonic,
             guard=contextlib.nullcontext):
    """Swap route to upstream. Returns a result dict; raises ProxyError leaving the old route live.

    guard() is the host's proxy lock: held while the route is read, changed and read back, and
    while the drained upstream is retired, but not during the drain's wait.
    """
    upstream = joined(members(upstream))  # a release's replicas in the order read() gives them
    with guard():
        current = driver.read(route)
        plan = swap_plan(current, upstream)
        result = dict(changed=bool(plan), previous=current, upstream=upstream, plan=plan, drained=None,
                      swap_seconds=None, drain_seconds=None)
        if not plan or check_mode:
            return result
        result['counters_at_swap'] = driver.request_counters(route)
        started = clock()
        result['swapped_at'] = time.time()  # wall clock: a watch on the same host measures from it
        driver.upsert(route, upstream)
        seen = driver.read(route)
        result['swap_seconds'] = round(clock() - started, 4)
        if seen != upstream:
            # The proxy did not take it: put the old upstream back so nothing half-swapped stays live.
            if current:
                driver.upsert(route, current)
            raise ProxyError('%s route %s read back %r after setting %r; restored %r'
                             % (driver.name, route, seen, upstream, current))
    if 'drain' in plan:
        drain_start = clock()
        drained = driver.drain(route, current, drain_timeout)
        result['drained'] = None if drained is None else bool(drained)
        result['drain_seconds'] = round(clock() - drain_start, 4)
        with guard():
            driver.finish_drain(route)
    return result
