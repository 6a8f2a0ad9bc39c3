"""Real proxy processes (HAProxy, Caddy, nginx) and upstream apps for the proxy tests, on loopback.

Each is started in its own temp folder on free loopback ports and stopped afterwards. Nginx Proxy
Manager cannot run here (it is a Node.js app shipped as a container image from a registry we
cannot reach), so FakeNPM implements its API contract (POST /api/tokens, GET/PUT
/api/nginx/proxy-hosts[/<id>], meta.nginx_online) in front of a real nginx that it reconfigures
and reloads the way NPM does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ansible_collections.cutover.deploy.plugins.module_utils._proxy.nginx import Nginx, render_upstream
from bench.loadgen import free_port


def wait_http(url, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.05)
    raise RuntimeError('%s did not answer within %ss' % (url, timeout))


def get_body(port, path='/'):
    with urllib.request.urlopen('http://127.0.0.1:%d%s' % (port, path), timeout=10) as resp:
        return resp.read().decode().strip()


class App:
    """A busybox httpd upstream answering 'demoapp <version>' and /cgi-bin/slow?N."""

    def __init__(self, tmp, version):
        self.version = version
        self.port = free_port()
        self.upstream = '127.0.0.1:%d' % self.port
        root = Path(tmp) / ('app-%s-%d' % (version, self.port))
        (root / 'cgi-bin').mkdir(parents=True)
        (root / 'index.html').write_text('demoapp %s\n' % version)
        slow = root / 'cgi-bin' / 'slow'
        slow.write_text('#!/bin/sh\nsleep "${QUERY_STRING:-3}"\n'
                        'printf "Content-Type: text/plain\\r\\n\\r\\nslow done %s\\n"\n' % version)
        slow.chmod(0o755)
        self.proc = subprocess.Popen(['busybox', 'httpd', '-f', '-p', self.upstream, '-h', str(root)])
        wait_http('http://%s/' % self.upstream)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


class HAProxyProc:
    """HAProxy with one frontend and a two-slot backend, both slots in maintenance at start."""

    def __init__(self, tmp, backend='web'):
        self.dir = Path(tmp) / 'haproxy'
        self.dir.mkdir()
        self.port = free_port()
        self.backend = backend
        self.admin_socket = str(self.dir / 'admin.sock')
        self.state_file = str(self.dir / 'server-state')
        self.cfg = self.dir / 'haproxy.cfg'
        self.pid_file = self.dir / 'haproxy.pid'
        Path(self.state_file).touch()
        self.cfg.write_text('''global
    stats socket {sock} mode 600 level admin expose-fd listeners
    server-state-file {state}
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s
    load-server-state-from-file global
frontend fe_{be}
    bind 127.0.0.1:{port}
    default_backend {be}
backend {be}
    server a 127.0.0.1:1 disabled
    server b 127.0.0.1:1 disabled
'''.format(sock=self.admin_socket, state=self.state_file, be=backend, port=self.port))
        self._run()

    def _run(self, *extra):
        subprocess.run(['haproxy', '-D', '-f', str(self.cfg), '-p', str(self.pid_file)] + list(extra),
                       check=True, capture_output=True)
        end = time.monotonic() + 5
        while not os.path.exists(self.admin_socket) and time.monotonic() < end:
            time.sleep(0.05)

    def pids(self):
        return [int(p) for p in self.pid_file.read_text().split()]

    def reload(self):
        """Soft reload (-sf) taking the listening sockets over from the old process (-x)."""
        self._run('-x', self.admin_socket, '-sf', *[str(p) for p in self.pids()])

    def stop(self):
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


class CaddyProc:
    """Caddy with one reverse_proxy handler addressed by @id, admin API on a loopback port."""

    def __init__(self, tmp, route='web', upstream='127.0.0.1:1'):
        self.dir = Path(tmp) / 'caddy'
        self.dir.mkdir()
        self.port = free_port()
        self.admin_port = free_port()
        self.admin_url = 'http://127.0.0.1:%d' % self.admin_port
        self.route = route
        self.env = dict(os.environ, XDG_CONFIG_HOME=str(self.dir / 'config'), XDG_DATA_HOME=str(self.dir / 'data'),
                        HOME=str(self.dir))
        config = {
            'admin': {'listen': '127.0.0.1:%d' % self.admin_port},
            'apps': {'http': {'servers': {'srv0': {
                'listen': ['127.0.0.1:%d' % self.port],
                'automatic_https': {'disable': True},
                'routes': [{'handle': [{'handler': 'reverse_proxy', '@id': route,
                                        'upstreams': [{'dial': upstream}]}]}],
            }}}},
        }
        self.config_file = self.dir / 'caddy.json'
        self.config_file.write_text(json.dumps(config))
        self.start('--config', str(self.config_file))

    def start(self, *args):
        self.log = open(self.dir / 'caddy.log', 'a')
        self.proc = subprocess.Popen(['caddy', 'run'] + list(args), env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_http(self.admin_url + '/config/')

    def restart_resume(self):
        """Stop Caddy and start it again from its autosaved config (caddy run --resume)."""
        self.stop()
        self.start('--resume')

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


class NginxProc:
    """nginx with an upstream include folder and one server proxying to cutover_<route>."""

    def __init__(self, tmp, route='web', upstream='127.0.0.1:1'):
        self.dir = Path(tmp) / 'nginx'
        self.upstream_dir = self.dir / 'upstreams'
        self.upstream_dir.mkdir(parents=True)
        self.port = free_port()
        self.route = route
        self.conf = self.dir / 'nginx.conf'
        self.pid_file = self.dir / 'nginx.pid'
        (self.upstream_dir / ('%s.conf' % route)).write_text(render_upstream(route, upstream))
        temp_paths = ''.join('    %s_temp_path %s/%s;\n' % (k, self.dir, k)
                             for k in ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'))
        self.conf.write_text('''worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 512; }}
http {{
    access_log off;
{temps}    keepalive_timeout 30s;
    include {d}/upstreams/*.conf;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://cutover_{name};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
'''.format(d=self.dir, temps=temp_paths, port=self.port, name=route.replace('-', '_')))
        subprocess.run(['nginx', '-c', str(self.conf)], check=True, capture_output=True)
        end = time.monotonic() + 5
        while not self.pid_file.exists() and time.monotonic() < end:
            time.sleep(0.05)

    def driver_options(self):
        return dict(type='nginx', conf=str(self.conf), upstream_dir=str(self.upstream_dir),
                    pid_file=str(self.pid_file))

    def driver(self):
        return Nginx(str(self.conf), str(self.upstream_dir), 'nginx', str(self.pid_file))

    def stop(self):
        subprocess.run(['nginx', '-c', str(self.conf), '-s', 'quit'], check=False, capture_output=True)
        end = time.monotonic() + 10
        while self.pid_file.exists() and time.monotonic() < end:
            time.sleep(0.05)


class FakeNPM:
    """The Nginx Proxy Manager API contract, backed by a real nginx it reloads like NPM does."""

    EMAIL = 'admin@example.com'
    PASSWORD = 'npm-test-secret-42'

    def __init__(self, nginx, route='web', domain='app.example.test', upstream='127.0.0.1:1'):
        self.nginx = nginx
        host, port = upstream.rsplit(':', 1)
        self.hosts = {7: dict(id=7, domain_names=[domain], forward_scheme='http', forward_host=host,
                              forward_port=int(port), enabled=1, meta=dict(nginx_online=True, nginx_err=None))}
        self.route = route
        self.token = 'tok-%d' % os.getpid()
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                length = int(self.headers.get('Content-Length') or 0)
                return json.loads(self.rfile.read(length) or b'{}')

            def _authed(self):
                if self.headers.get('Authorization') != 'Bearer %s' % fake.token:
                    self._send(401, {'error': {'code': 401, 'message': 'Unauthorized'}})
                    return False
                return True

            def do_POST(self):
                body = self._body()
                fake.requests.append(('POST', self.path, body))
                if self.path != '/api/tokens':
                    return self._send(404, {'error': {'code': 404, 'message': 'Not Found'}})
                if body.get('identity') == fake.EMAIL and body.get('secret') == fake.PASSWORD:
                    return self._send(200, {'token': fake.token, 'expires': '2099-01-01T00:00:00.000Z'})
                return self._send(401, {'error': {'code': 401, 'message': 'Invalid email or password'}})

            def do_GET(self):
                fake.requests.append(('GET', self.path, None))
                if not self._authed():
                    return None
                if self.path == '/api/nginx/proxy-hosts':
                    return self._send(200, list(fake.hosts.values()))
                host = fake.hosts.get(int(self.path.rsplit('/', 1)[-1])) if self.path.rsplit('/', 1)[-1].isdigit() else None
                if host is None:
                    return self._send(404, {'error': {'code': 404, 'message': 'Not Found'}})
                return self._send(200, host)

            def do_PUT(self):
                body = self._body()
                fake.requests.append(('PUT', self.path, body))
                if not self._authed():
                    return None
                host = fake.hosts.get(int(self.path.rsplit('/', 1)[-1]))
                if host is None:
                    return self._send(404, {'error': {'code': 404, 'message': 'Not Found'}})
                unknown = set(body) - {'forward_host', 'forward_port', 'forward_scheme', 'domain_names', 'enabled'}
                if unknown:
                    message = 'data should NOT have additional properties: %s' % sorted(unknown)
                    return self._send(400, {'error': {'code': 400, 'message': message}})
                host.update(body)
                try:  # NPM renders the host's config and reloads nginx, then reports nginx_online
                    fake.nginx.driver().upsert(fake.route, '%s:%s' % (host['forward_host'], host['forward_port']))
                    host['meta'] = dict(nginx_online=True, nginx_err=None)
                except Exception as exc:  # pylint: disable=broad-except
                    host['meta'] = dict(nginx_online=False, nginx_err=str(exc))
                return self._send(200, host)

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def driver_options(self):
        return dict(type='npm', url=self.url, email=self.EMAIL, password=self.PASSWORD)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
