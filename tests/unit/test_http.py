"""The JSON-over-HTTP helper of the Caddy and Nginx Proxy Manager drivers (_proxy/_http.py), against real
http.server instances on 127.0.0.1 and on a unix socket: what it sends, what it returns, what it raises."""

from __future__ import annotations

import http.server
import json
import os
import socketserver
import tempfile
import threading

import pytest

from ansible_collections.cutover.deploy.plugins.module_utils._proxy._http import HttpError, admin_endpoint, json_request
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import ProxyError

SEEN = []


class Handler(http.server.BaseHTTPRequestHandler):
    """/ok echoes the request as JSON; /empty answers 200 with no body; /missing 404; /moved 301; /html not JSON."""

    def log_message(self, *args):
        pass

    def answer(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode() if length else None
        SEEN.append(dict(method=self.command, path=self.path, host=self.headers.get('Host'), body=body,
                         content_type=self.headers.get('Content-Type')))
        status, text = {'/empty': (200, ''), '/missing': (404, '{"error": "unknown object"}'),
                        '/moved': (301, ''), '/html': (200, '<html>')}.get(self.path.split('?')[0], (200, None))
        if text is None:
            text = json.dumps(dict(method=self.command, path=self.path, body=json.loads(body) if body else None))
        self.send_response(status)
        if status == 301:
            self.send_header('Location', '/ok')
        self.send_header('Content-Length', str(len(text)))
        self.end_headers()
        self.wfile.write(text.encode())

    do_GET = do_POST = do_PUT = do_DELETE = answer


class UnixServer(socketserver.UnixStreamServer):
    def get_request(self):
        request = super().get_request()[0]
        return request, ('local', 0)  # BaseHTTPRequestHandler wants a (host, port) client address


@pytest.fixture(scope='module')
def servers():
    tcp = http.server.HTTPServer(('127.0.0.1', 0), Handler)
    sock_dir = tempfile.mkdtemp(prefix='cutover-http-')
    unix = UnixServer(os.path.join(sock_dir, 'admin.sock'), Handler)
    for server in (tcp, unix):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield dict(base='http://127.0.0.1:%d' % tcp.server_address[1], socket=unix.server_address)
    for server in (tcp, unix):
        server.shutdown()
        server.server_close()


def test_a_json_request_sends_the_method_path_and_body_and_returns_the_decoded_answer(servers):
    base = servers['base']
    answer = json_request('POST', base + '/ok?x=1', 'test API', payload={'a': [1, 2]})
    assert answer == dict(method='POST', path='/ok?x=1', body={'a': [1, 2]})
    assert SEEN[-1]['content_type'] == 'application/json'
    assert json_request('GET', base + '/empty', 'test API') is None


def test_an_error_status_raises_http_error_with_the_status_and_body(servers):
    base = servers['base']
    with pytest.raises(HttpError) as caught:
        json_request('GET', base + '/missing', 'test API')
    assert caught.value.status == 404 and 'unknown object' in caught.value.body
    assert 'test API: GET %s/missing answered 404' % base in str(caught.value)


def test_a_redirect_is_not_followed(servers):
    base = servers['base']
    with pytest.raises(HttpError) as caught:
        json_request('GET', base + '/moved', 'test API')
    assert caught.value.status == 301
    assert SEEN[-1]['path'] == '/moved'  # /ok was never asked for


def test_an_answer_that_is_not_json_and_an_unreachable_api_raise_proxy_error(servers):
    base = servers['base']
    with pytest.raises(ProxyError, match='invalid JSON'):
        json_request('GET', base + '/html', 'test API')
    with pytest.raises(ProxyError, match='cannot reach'):
        json_request('GET', 'http://127.0.0.1:1/ok', 'test API', timeout=2)
    with pytest.raises(ProxyError, match='cannot reach'):
        json_request('GET', 'ftp://127.0.0.1/ok', 'test API')


def test_caddys_unix_socket_form_is_reached_with_an_empty_host_header(servers):
    path = servers['socket']
    base, unix_socket, headers = admin_endpoint('unix/' + path)
    assert (base, unix_socket, headers) == ('http://localhost', path, {'Host': ''})
    assert json_request('PUT', base + '/ok', 'Caddy admin API', payload=1, headers=headers,
                        unix_socket=unix_socket) == dict(method='PUT', path='/ok', body=1)
    assert SEEN[-1]['host'] == ''
