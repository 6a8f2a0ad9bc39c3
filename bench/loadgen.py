"""A bounded HTTP load on loopback that never retries: every failed request is counted.

Two client modes: keep-alive (each worker reuses one connection, as browsers and most service
clients do) and new-connection (a fresh TCP connection per request). Every loop is bounded in
requests and in seconds and stops by itself. Only loopback targets, and the test fleet's own
namespace hosts (scripts/fleet.sh, 10.231.0.0/24), are accepted.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import random
import socket
import threading
import time
from collections import Counter


_HANDED_OUT = set()


# the first of the ports lego answers ACME challenges on (front_door.ACME_CHALLENGE_PORTS): the tests' ports stay below
LEGO_PORTS_START = 30000


def port_share(ephemeral_low, worker, workers):
    """The ports free_port draws from: the 12,000 below the kernel's ephemeral range and lego's ports, split evenly
    between the pytest-xdist workers (worker 'gw1' of 2 gets the second half). Pure."""
    top = min(ephemeral_low, LEGO_PORTS_START)
    low = max(1024, top - 12000)
    index = int(worker[2:]) if worker.startswith('gw') and worker[2:].isdigit() else 0
    size = (top - low) // max(workers, 1)
    return range(low + index * size, low + (index + 1) * size)


def free_port():
    """A free TCP port on 127.0.0.1 for a test's or the benchmark's listener (a proxy, an sshd, a stub).

    Not one the kernel picks (bind to port 0): a container's pinned port or a connection's source port comes from
    the ephemeral range and could take it before our listener starts; and two tests running at once could be
    handed the same one. HAProxy binds with SO_REUSEPORT, so two HAProxies on one port both start and split the
    requests between them. So each test worker draws from its own share below the ephemeral range, and never
    twice the same port."""
    with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
        ephemeral_low = int(f.read().split()[0])
    share = port_share(ephemeral_low, os.environ.get('PYTEST_XDIST_WORKER', ''),
                       int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1') or 1))
    start = random.randrange(len(share))
    for i in range(len(share)):
        port = share[(start + i) % len(share)]
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(('127.0.0.1', port))
            except OSError:
                continue  # in use by something else
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError('no free port left in %s' % share)


FLEET_NETWORK = ipaddress.ip_network('10.231.0.0/24')  # scripts/fleet.sh's hosts, on this machine


def _check_target(host):
    if host == 'localhost':
        return
    address = ipaddress.ip_address(host)
    if not (address.is_loopback or address in FLEET_NETWORK):
        raise ValueError('load is only sent to loopback or the test fleet (%s), not %s' % (FLEET_NETWORK, host))


class NamedConnection(http.client.HTTPSConnection):
    """HTTPS to an address (loopback) under a host name: SNI and certificate check for that name, not the address."""

    def __init__(self, host, port, server_name, context, timeout):
        super().__init__(host, port, timeout=timeout, context=context)
        self.server_name = server_name

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.server_name)


def connection(host, port, timeout, server_name=None, tls=None):
    """A plain HTTP connection, or with tls (an ssl.SSLContext) an HTTPS one that names server_name."""
    if tls is None:
        return http.client.HTTPConnection(host, port, timeout=timeout)
    return NamedConnection(host, port, server_name, tls, timeout)


class Load:
    """Run with `with Load(...) as load:`; read load.summary() afterwards. host_header: the name the requests ask
    for (a proxy routing by host name), also the TLS server name with tls (an ssl.SSLContext)."""

    def __init__(self, host, port, path='/', workers=4, keepalive=True, max_requests=200000,
                 max_seconds=120.0, timeout=5.0, rate=None, host_header=None, tls=None):
        _check_target(host)
        self.host, self.port, self.path = host, port, path
        self.host_header, self.tls = host_header, tls
        self.workers, self.keepalive = workers, keepalive
        self.max_requests, self.max_seconds, self.timeout = max_requests, max_seconds, timeout
        self.interval = 1.0 / rate if rate else 0.0  # per worker: a steady load, not a saturating one
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.sent = 0
        self.ok = 0
        self.failed = 0
        self.errors = Counter()
        self.versions = Counter()
        self.events = []  # (t, version or None for a failure, latency s)
        self.threads = []
        self.t0 = None

    def _take(self):
        with self.lock:
            if self.sent >= self.max_requests:
                return False
            self.sent += 1
            return True

    def _record(self, version, latency, error=None):
        t = time.monotonic() - self.t0
        with self.lock:
            self.events.append((t, version, latency))
            if version is None:
                self.failed += 1
                self.errors[error] += 1
            else:
                self.ok += 1
                self.versions[version] += 1

    def _worker(self):
        conn = None
        deadline = self.t0 + self.max_seconds
        next_at = time.monotonic()
        while not self.stop_event.is_set() and time.monotonic() < deadline and self._take():
            if self.interval:
                next_at += self.interval
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            if conn is None:
                conn = connection(self.host, self.port, self.timeout, self.host_header, self.tls)
            start = time.monotonic()
            headers = dict({} if self.keepalive else {'Connection': 'close'},
                           **({'Host': self.host_header} if self.host_header else {}))
            try:
                conn.request('GET', self.path, headers=headers)
                resp = conn.getresponse()
                body = resp.read().decode('utf-8', 'replace').strip()
                if resp.status != 200:
                    self._record(None, time.monotonic() - start, 'HTTP %s' % resp.status)
                else:
                    self._record(body.rsplit(' ', 1)[-1] or '?', time.monotonic() - start)
                if not self.keepalive or resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                self._record(None, time.monotonic() - start, type(exc).__name__)
                conn.close()
                conn = None  # the next request opens a new connection; this one is not retried
        if conn is not None:
            conn.close()

    def __enter__(self):
        self.t0 = time.monotonic()
        for worker in range(self.workers):  # pylint: disable=unused-variable
            th = threading.Thread(target=self._worker, daemon=True)
            th.start()
            self.threads.append(th)
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for th in self.threads:
            th.join(self.timeout + 5)

    def wait_for(self, count, timeout=10.0):
        """Block until at least count more requests completed (to be sure load is flowing)."""
        target = self.ok + self.failed + count
        end = time.monotonic() + timeout
        while self.ok + self.failed < target and time.monotonic() < end:
            time.sleep(0.01)

    def summary(self):
        lat = sorted(e[2] for e in self.events)

        def pct(q):
            return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 2) if lat else None
        return dict(mode='keep-alive' if self.keepalive else 'new-connection', requests=self.ok + self.failed,
                    ok=self.ok, failed=self.failed, errors=dict(self.errors), versions=dict(self.versions),
                    p50_ms=pct(0.5), p99_ms=pct(0.99), max_ms=round(lat[-1] * 1000, 2) if lat else None)
