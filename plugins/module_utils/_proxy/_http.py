# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny JSON-over-HTTP helper for the proxies with HTTP APIs (Caddy admin, Nginx Proxy Manager)."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import urllib.parse

from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import ProxyError


def admin_endpoint(admin_url):
    """(base URL, unix socket or None, extra headers) for an admin API address.

    `unix//path` (Caddy's own form) or `unix:///path` is a unix socket; Caddy accepts requests on
    it only with an empty Host header.
    """
    for prefix in ('unix://', 'unix/'):
        if admin_url.startswith(prefix):
            return 'http://localhost', admin_url[len(prefix):], {'Host': ''}
    return admin_url.rstrip('/'), None, {}


class HttpError(ProxyError):
    def __init__(self, status, body, msg):
        super().__init__(msg)
        self.status = status
        self.body = body


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (Caddy's admin API can listen on one)."""

    def __init__(self, path, timeout):
        super().__init__('localhost', timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def _connection(parts, timeout, verify_tls, unix_socket):
    """An http.client connection for a split URL: no proxy from the environment, no redirect followed."""
    if unix_socket:
        return _UnixHTTPConnection(unix_socket, timeout)
    if parts.scheme == 'http':
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    if parts.scheme == 'https':
        context = ssl.create_default_context()
        if not verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context)
    raise ValueError('the URL must start with http:// or https://')


def json_request(method, url, what, payload=None, headers=None, timeout=10.0, verify_tls=True, unix_socket=None):
    """Send one request; returns the decoded JSON answer (or None). Raises HttpError/ProxyError.

    The standard library's http.client, not ansible's urls module: a module ships (and the controller parses, each
    run) every module_utils file it imports, and these are plain JSON requests to an admin API."""
    data = json.dumps(payload).encode() if payload is not None else None
    all_headers = {'Content-Type': 'application/json', 'Accept': 'application/json'}
    all_headers.update(headers or {})
    parts = urllib.parse.urlsplit(url)
    target = (parts.path or '/') + ('?' + parts.query if parts.query else '')
    try:
        conn = _connection(parts, timeout, verify_tls, unix_socket)
        try:
            conn.request(method, target, body=data, headers=all_headers)
            resp = conn.getresponse()
            status, body = resp.status, resp.read().decode('utf-8', 'replace')
        finally:
            conn.close()
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise ProxyError('%s: cannot reach %s: %s' % (what, url, exc))
    if status >= 300:  # a redirect is not followed: the admin API answered somewhere else
        raise HttpError(status, body, '%s: %s %s answered %s: %s' % (what, method, url, status, body.strip()[:300]))
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise ProxyError('%s: %s %s answered with invalid JSON: %s' % (what, method, url, body[:200]))
