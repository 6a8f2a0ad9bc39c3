# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Caddy through its admin API.

The service's reverse_proxy handler carries an "@id"; its upstreams are replaced in place with a
PATCH on /id/<route>/upstreams. Caddy applies a config change with a graceful reload: in-flight
requests finish, but idle keep-alive client connections are closed. Drain watches both Caddy's
upstream request counts and the TCP connections to the old upstream. Caddy saves every change to
its autosave.json, so a restart with `caddy run --resume` keeps the swapped route.
"""

from __future__ import annotations

from ansible_collections.cutover.deploy.plugins.module_utils._naming import members
from ansible_collections.cutover.deploy.plugins.module_utils._proxy._http import HttpError, admin_endpoint, json_request
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import (
    Driver, RouteNotFound, established_to, split_upstream, wait_until,
)


# A unix socket in a 0700 folder: only root can change the config of a Caddy that runs as root.
DEFAULT_ADMIN = 'unix//run/cutover/caddy/admin.sock'


class Caddy(Driver):
    name = 'caddy'

    def __init__(self, admin_url=DEFAULT_ADMIN, timeout=10.0):
        self.admin_url = admin_url
        self.base, self.unix_socket, self.headers = admin_endpoint(admin_url)
        self.timeout = timeout

    def _call(self, method, path, route, payload=None):
        try:
            return json_request(method, self.base + path, 'Caddy admin API (admin_url %s)' % self.admin_url, payload,
                                headers=self.headers, timeout=self.timeout, unix_socket=self.unix_socket)
        except HttpError as exc:
            if exc.status == 404 or 'unknown object' in exc.body:
                raise RouteNotFound('Caddy has no object with @id %r (route)' % route)
            raise

    def read(self, route):
        upstreams = self._call('GET', '/id/%s/upstreams' % route, route) or []
        dials = sorted(u.get('dial', '') for u in upstreams)
        return ','.join(dials) or None

    def upsert(self, route, upstream):
        dials = members(upstream)  # one, or a release's replicas
        for u in dials:
            split_upstream(u)
        self._call('PATCH', '/id/%s/upstreams' % route, route, [{'dial': u} for u in dials])

    def in_flight(self, upstream):
        for u in self._call('GET', '/reverse_proxy/upstreams', 'reverse_proxy/upstreams') or []:
            if u.get('address') == upstream:
                return int(u.get('num_requests') or 0)
        return 0

    def drain(self, route, old_upstream, timeout):
        # Caddy drops the old upstream from /reverse_proxy/upstreams as soon as the new config is
        # loaded, while the old handler's requests are still running; so we also watch the TCP
        # connections to the old upstream.
        olds = old_upstream.split(',')
        return wait_until(lambda: all(self.in_flight(u) == 0 and established_to(u) == 0 for u in olds), timeout)
