# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny JSON-over-HTTP helper for the proxies with HTTP APIs (Caddy admin, Nginx Proxy Manager)."""

from __future__ import annotations

import json
import urllib.error

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


def json_request(method, url, what, payload=None, headers=None, timeout=10.0, verify_tls=True, unix_socket=None):
    """Send one request; returns the decoded JSON answer (or None). Raises HttpError/ProxyError."""
    # imported here: ansible's urls module (with its TLS stack) costs about 0.1 s, and most module runs
    # (HAProxy's Runtime API is a unix socket) never make an HTTP request
    from ansible.module_utils.urls import open_url  # pylint: disable=import-outside-toplevel

    data = json.dumps(payload).encode() if payload is not None else None
    all_headers = {'Content-Type': 'application/json', 'Accept': 'application/json'}
    all_headers.update(headers or {})
    try:
        resp = open_url(url, data=data, headers=all_headers, method=method, validate_certs=verify_tls,
                        timeout=timeout, follow_redirects='none', use_proxy=False, unix_socket=unix_socket)
        body = resp.read().decode('utf-8', 'replace')
    except urllib.error.HTTPError as exc:
        body = exc.read().decode('utf-8', 'replace')
        raise HttpError(exc.code, body, '%s: %s %s answered %s: %s' % (what, method, url, exc.code, body.strip()[:300]))
    except (OSError, ValueError) as exc:
        raise ProxyError('%s: cannot reach %s: %s' % (what, url, exc))
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise ProxyError('%s: %s %s answered with invalid JSON: %s' % (what, method, url, body[:200]))
