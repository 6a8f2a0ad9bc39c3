# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nginx Proxy Manager through its REST API.

Token auth (POST /api/tokens), then PUT /api/nginx/proxy-hosts/<id> with only forward_host and
forward_port: a pure upsert of the existing proxy host, which NPM renders and reloads. The answer's
meta.nginx_online must be true, else NPM could not load the config. The route is the proxy host's
id, or one of its domain names.
"""

from __future__ import annotations

from ansible_collections.cutover.deploy.plugins.module_utils._proxy._http import HttpError, json_request
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import (
    Driver, ProxyError, RouteNotFound, split_upstream,
)


class NginxProxyManager(Driver):
    name = 'npm'

    def __init__(self, url, email, password, verify_tls=True, timeout=15.0):
        self.url = url.rstrip('/')
        self.email = email
        self.password = password
        self.verify_tls = verify_tls
        self.timeout = timeout
        self._token = None
        self._ids = {}

    def _call(self, method, path, payload=None, auth=True):
        headers = {'Authorization': 'Bearer %s' % self.token()} if auth else {}
        return json_request(method, self.url + path, 'Nginx Proxy Manager (url)', payload, headers,
                            timeout=self.timeout, verify_tls=self.verify_tls)

    def token(self):
        if self._token is None:
            try:
                answer = self._call('POST', '/api/tokens', {'identity': self.email, 'secret': self.password},
                                    auth=False)
            except HttpError as exc:
                raise ProxyError('Nginx Proxy Manager refused the login of %s (email/password): HTTP %s'
                                 % (self.email, exc.status))
            self._token = (answer or {}).get('token')
            if not self._token:
                raise ProxyError('Nginx Proxy Manager answered POST /api/tokens without a token')
        return self._token

    def host_id(self, route):
        """The proxy host id for a route given as an id or a domain name."""
        if route in self._ids:
            return self._ids[route]
        if str(route).isdigit():
            self._ids[route] = int(route)
            return int(route)
        for host in self._call('GET', '/api/nginx/proxy-hosts') or []:
            if route in (host.get('domain_names') or []):
                self._ids[route] = host['id']
                return host['id']
        raise RouteNotFound('Nginx Proxy Manager has no proxy host for domain %r (route)' % route)

    def _host(self, route):
        try:
            return self._call('GET', '/api/nginx/proxy-hosts/%d' % self.host_id(route))
        except HttpError as exc:
            if exc.status == 404:
                raise RouteNotFound('Nginx Proxy Manager has no proxy host %r (route)' % route)
            raise

    def read(self, route):
        host = self._host(route)
        if not host.get('forward_host'):
            return None
        return '%s:%s' % (host['forward_host'], host['forward_port'])

    def upsert(self, route, upstream):
        fwd_host, fwd_port = split_upstream(upstream)
        answer = self._call('PUT', '/api/nginx/proxy-hosts/%d' % self.host_id(route),
                            {'forward_host': fwd_host, 'forward_port': fwd_port}) or {}
        meta = answer.get('meta') or {}
        if meta.get('nginx_online') is False:
            raise ProxyError('Nginx Proxy Manager saved the route but nginx is not online: %s'
                             % (meta.get('nginx_err') or 'no error given'))

    def drain(self, route, old_upstream, timeout):
        # NPM reloads nginx gracefully; it offers no view of in-flight requests to wait on, so we
        # cannot say whether the old upstream drained.
        return None
