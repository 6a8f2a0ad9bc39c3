"""A real ACME server for the front-door tests: Debian's pebble (Let's Encrypt's RFC 8555 test server) with
pebble-challtestsrv as its DNS server, answering every name with the front door's address (127.0.0.1, or the systemd
test host's), so pebble's HTTP-01 validation really connects to the front door's plain listener. Both processes run
for one test and are stopped after it."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass

from bench.loadgen import free_port
from tests.tls import self_signed


@dataclass
class AcmeServer:
    directory: str
    ca_cert: str        # the root pebble's own HTTPS (the directory) is served with
    management: str     # pebble's management API: /roots/0 is the root its certificates chain to
    http_port: int      # where pebble's validation connects for HTTP-01: the front door's plain listener

    def root(self):
        """The root pebble's issued certificates chain to (a new one per pebble run)."""
        context = ssl.create_default_context(cadata=self.ca_cert)
        with urllib.request.urlopen(self.management + '/roots/0', context=context, timeout=10) as resp:
            return resp.read().decode()


def start_acme_server(folder, address='127.0.0.1', names_at='127.0.0.1'):
    """(AcmeServer, processes): pebble and its DNS server on free ports, ready. address: where pebble listens (loopback,
    or this machine's side of a test host's network); names_at: the address every name resolves to for pebble's
    validation (the front door under test)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed('localhost', ips=(address,))
    (folder / 'cert.pem').write_text(cert)
    (folder / 'key.pem').write_text(key)
    dns, challenges, listen, management, http_port = (free_port() for port in range(5))
    config = {'pebble': {'listenAddress': '%s:%d' % (address, listen), 'managementListenAddress': '%s:%d' % (address, management),
                         'certificate': str(folder / 'cert.pem'), 'privateKey': str(folder / 'key.pem'),
                         'httpPort': http_port, 'tlsPort': free_port(), 'ocspResponderURL': '',
                         'externalAccountBindingRequired': False}}
    (folder / 'pebble.json').write_text(json.dumps(config))
    env = dict(os.environ, PEBBLE_VA_NOSLEEP='1', PEBBLE_WFE_NONCEREJECT='0')
    procs = [subprocess.Popen(['pebble-challtestsrv', '-defaultIPv4', names_at, '-defaultIPv6', '',
                               '-dns01', '127.0.0.1:%d' % dns, '-http01', '', '-https01', '', '-tlsalpn01', '',
                               '-management', '127.0.0.1:%d' % challenges],
                              stdout=open(folder / 'challtestsrv.log', 'w'), stderr=subprocess.STDOUT),
             subprocess.Popen(['pebble', '-config', str(folder / 'pebble.json'), '-dnsserver', '127.0.0.1:%d' % dns],
                              env=env, stdout=open(folder / 'pebble.log', 'w'), stderr=subprocess.STDOUT)]
    host = 'localhost' if address == '127.0.0.1' else address
    server = AcmeServer('https://%s:%d/dir' % (host, listen), cert, 'https://%s:%d' % (host, management), http_port)
    context = ssl.create_default_context(cadata=cert)
    end = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(server.directory, context=context, timeout=2):
                return server, procs
        except OSError:
            if time.monotonic() > end:
                stop(procs)
                raise RuntimeError('pebble did not answer on %s; see %s' % (server.directory, folder))
            time.sleep(0.2)


def stop(procs):
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
