# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx: one upstream include file per route, swapped atomically, then a graceful reload.

The file `<upstream_dir>/<route>.conf` holds `upstream cutover_<route> { server HOST:PORT; }`,
included by the user's nginx.conf and used as `proxy_pass http://cutover_<route>;`. A swap writes
the new file to a temp name and renames it over the old, checks the whole config with `nginx -t`
(on failure the old file is put back and nothing reloads), then reloads. Old workers finish their
in-flight requests and exit; drain waits for that. Idle keep-alive connections of old workers are
closed by the reload.
"""

from __future__ import annotations

import os
import re
import subprocess

from ansible_collections.cutover.deploy.plugins.module_utils._process import run_bounded
from ansible_collections.cutover.deploy.plugins.module_utils._files import write_atomic
from ansible_collections.cutover.deploy.plugins.module_utils._naming import members
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import (
    Driver, ProxyError, RouteNotFound, split_upstream, wait_until,
)

_SERVER_RE = re.compile(r'^\s*server\s+([^\s;]+)', re.M)


def render_upstream(route, upstream):
    """The route's upstream block: a server per upstream (a release's replicas are joined by commas). nginx
    tries the next server when one refuses the connection (a replica that died), so no request fails on it."""
    servers = ''.join('    server %s;\n' % u for u in members(upstream))
    return ('# Managed by cutover.deploy (proxy_swap): route %s. Changes here are overwritten.\n'
            'upstream cutover_%s {\n%s    keepalive 16;\n}\n' % (route, route.replace('-', '_'), servers))


def parse_upstream(text):
    return ','.join(sorted(_SERVER_RE.findall(text))) or None


def _children(pid):
    """{child pid: cmdline} of a process (Linux /proc)."""
    out = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            if ppid != pid:
                continue
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                out[int(entry)] = f.read().replace(b'\0', b' ').decode().strip()
        except (OSError, ValueError, IndexError):
            continue
    return out


class Nginx(Driver):
    name = 'nginx'

    def __init__(self, conf='/etc/nginx/nginx.conf', upstream_dir='/etc/nginx/cutover', binary='nginx',
                 pid_file='/run/nginx.pid', timeout=10.0):
        self.conf = conf
        self.upstream_dir = upstream_dir
        self.binary = binary
        self.pid_file = pid_file
        self.timeout = timeout

    def path(self, route):
        return os.path.join(self.upstream_dir, '%s.conf' % route)

    def _run(self, *args):
        try:
            return run_bounded([self.binary, '-c', self.conf] + list(args), self.timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ProxyError('cannot run %s: %s' % (self.binary, exc))

    def master_pid(self):
        try:
            with open(self.pid_file) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError) as exc:
            raise ProxyError('nginx is not running (pid_file %s): %s' % (self.pid_file, exc))

    def read(self, route):
        try:
            with open(self.path(route)) as f:
                return parse_upstream(f.read())
        except FileNotFoundError:
            raise RouteNotFound('nginx has no upstream file %s for route %r' % (self.path(route), route))

    def upsert(self, route, upstream):
        for u in members(upstream):
            split_upstream(u)
        path = self.path(route)
        master = self.master_pid()
        with open(path) as f:
            old_text = f.read()
        write_atomic(path, render_upstream(route, upstream))
        test = self._run('-t')
        if test.returncode != 0:
            self._restore(path, old_text)
            raise ProxyError('nginx -t rejected the new upstream for %s; the previous file is restored and '
                             'nginx was not reloaded: %s' % (route, test.stderr.strip()[-500:]))
        workers_before = {p for p, cmd in _children(master).items() if 'shutting down' not in cmd}
        reload = self._run('-s', 'reload')
        if reload.returncode != 0:
            self._restore(path, old_text)
            raise ProxyError('nginx -s reload failed; the previous file is restored: %s' % reload.stderr.strip())

        def new_workers_up():
            current = {p for p, cmd in _children(master).items() if 'worker process' in cmd and 'shutting down' not in cmd}
            return bool(current) and not current & workers_before
        if not wait_until(new_workers_up, self.timeout, interval=0.02):
            raise ProxyError('nginx did not start workers with the new config within %ss' % self.timeout)

    @staticmethod
    def _restore(path, text):
        write_atomic(path, text)

    def drain(self, route, old_upstream, timeout):
        master = self.master_pid()
        return wait_until(lambda: not any('shutting down' in c for c in _children(master).values()), timeout)
