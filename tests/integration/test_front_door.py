"""The front door, through ansible-playbook on the local Docker engine, on HAProxy (the default), nginx and Caddy: several
services on one listener by host name and path prefix, a 404 for a host no service claims, a place two services
claim refused before any change, TLS with each service's own certificate by SNI, a redirect to HTTPS, blue-green
deploys under TLS keep-alive load on both services, a certificate rotation, maintenance mode and removing a
service (maintenance: HAProxy and nginx). HAProxy never reloads for a deploy or a rotation (Runtime API) and drops
nothing; nginx and Caddy reload gracefully, and their reload floor (idle keep-alive connections closed under a
client) is measured and written to .cache/measurements. The host names resolve nowhere: every request goes to 127.0.0.1 and names its host in the
Host header and the SNI."""

from __future__ import annotations

import calendar
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import pytest
from cryptography import x509

from bench.loadgen import Load, free_port
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.acme_renew import RENEW_SCRIPT
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.front_door import (
    caddy_listener_name, listener_file, nginx_listener_file)
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import HAProxy
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.nginx import _children
from tests.acme import start_acme_server, stop as stop_acme_server
from tests.helpers import REPO, TEST_RATE
from tests.sites import Site
from tests.tls import get, same_certificate, self_signed, served_certificate, trusting, unverified

REMOVE = REPO / 'playbooks' / 'remove.yml'
MAINTENANCE = REPO / 'playbooks' / 'maintenance.yml'
STATUS = REPO / 'playbooks' / 'status.yml'
REMOVE_STEP = 'Remove the route, then the containers, then the live record of {}'
PREPARE = 'Take the deploy lock, ensure the proxy route and converge what an interrupted run left behind'
MEASUREMENTS = REPO / '.cache' / 'measurements'
# nginx and Caddy close idle keep-alive connections at each reload: a non-retrying client sending on one just then
# fails (1-2.6 per swap at ~1,000 requests/s in test_proxies). Bounded so a route that breaks for good still fails.
RELOAD_FLOOR = 10

KINDS = ['haproxy', 'nginx', 'caddy']


class Door:
    """One proxy (HAProxy or nginx, its runtime's default here) that the services of a test share."""

    def __init__(self, kind, engine, tmp_path):
        self.kind, self.engine, self.tmp = kind, engine, tmp_path
        self.suffix, self.services = uuid.uuid4().hex[:4], []
        listen = '127.0.0.1:%d' % free_port()
        self.port = int(listen.rsplit(':', 1)[1])
        if kind == 'haproxy':
            self.proxy = dict(type='haproxy', listen=listen, config_dir=str(tmp_path / 'haproxy'),
                              admin_socket=str(tmp_path / 'run' / 'admin.sock'),
                              state_file=str(tmp_path / 'state' / 'hp-state'), image=engine.proxy_image)
            self.config_dir = self.proxy['config_dir']
        elif kind == 'nginx':
            # nginx's workers run as nobody and look for the maintenance flag and page themselves: its folder must be
            # one they can enter, as /etc/cutover/nginx is (pytest's own temporary folders are root's alone)
            self.config_dir = tempfile.mkdtemp(prefix='cutover-front-door-nginx-')
            os.chmod(self.config_dir, 0o755)
            self.proxy = dict(type='nginx', listen=listen, conf=os.path.join(self.config_dir, 'nginx.conf'),
                              upstream_dir=os.path.join(self.config_dir, 'upstreams'),
                              pid_file=str(tmp_path / 'run' / 'nginx.pid'))
        else:
            self.proxy = dict(type='caddy', listen=listen, admin_url='http://127.0.0.1:%d' % free_port(),
                              caddy_dir=str(tmp_path / 'caddy'))
            self.config_dir = self.proxy['caddy_dir']

    def site(self, name, **extra):
        # one name per proxy kind and test: tests may run at once on one engine; stop() removes their containers
        site = Site(self.engine, 'fd%s-%s-%s' % (self.kind[0], name, self.suffix), self.tmp / name)
        self.services.append(site.service)
        site.proxy.clear()
        site.proxy.update(self.proxy, **extra)
        site.port = self.port
        return site

    def sites(self, **per_service):
        return {name: self.site(name, **extra) for name, extra in per_service.items()}

    def listener(self):
        """What the shared listener is now: its file, or Caddy's server object."""
        if self.kind == 'haproxy':
            return open(listener_file(self.config_dir, self.proxy['listen'])).read()
        if self.kind == 'nginx':
            return open(nginx_listener_file(os.path.join(self.config_dir, 'sites'), self.proxy['listen'])).read()
        with urllib.request.urlopen('%s/config/apps/http/servers/%s' % (
                self.proxy['admin_url'], caddy_listener_name(self.proxy['listen'])), timeout=5) as resp:
            return resp.read().decode()

    def service_file(self, service):
        """The file that says where the service is: its config file, or its claim (Caddy)."""
        if self.kind == 'haproxy':
            return os.path.join(self.config_dir, 'service-%s.cfg' % service)
        if self.kind == 'nginx':
            return os.path.join(self.config_dir, 'sites', '%s.conf' % service)
        return os.path.join(self.config_dir, 'claims', '%s.json' % service)

    def workers(self):
        """The proxy processes serving now: a reload starts new ones."""
        if self.kind == 'haproxy':
            info = HAProxy(self.proxy['admin_socket']).command('show info')
            return {line.split(': ')[1] for line in info.splitlines() if line.startswith('Pid: ')}
        if self.kind == 'nginx':
            master = int(open(self.proxy['pid_file']).read())
            return {p for p, cmd in _children(master).items() if 'worker process' in cmd and 'shutting down' not in cmd}
        return None  # Caddy reloads inside one process

    def stop(self):
        for service in self.services:
            self.engine.remove_service(service)
        if self.kind == 'haproxy':
            self.site('stop').stop_proxy()
        elif self.kind == 'nginx':
            subprocess.run(['nginx', '-c', self.proxy['conf'], '-s', 'quit'], capture_output=True, check=False, timeout=30)
            shutil.rmtree(self.config_dir, ignore_errors=True)
        else:
            try:
                urllib.request.urlopen(urllib.request.Request(self.proxy['admin_url'] + '/stop', method='POST'), timeout=5)
            except OSError:
                pass

    def record(self, name, *loads):
        MEASUREMENTS.mkdir(parents=True, exist_ok=True)
        (MEASUREMENTS / ('front-door-%s-%s.json' % (self.kind, name))).write_text(
            json.dumps([load.summary() for load in loads], indent=2))

    def assert_kept_up(self, *loads):
        """HAProxy: nothing failed. nginx and Caddy: at most their reload floor, never an error answer."""
        for load in loads:
            assert load.ok > 40, load.summary()
            if self.kind == 'haproxy':
                assert load.failed == 0, load.summary()
            else:
                assert load.failed <= RELOAD_FLOOR, load.summary()
                assert 'HTTP 502' not in load.errors and 'HTTP 503' not in load.errors, load.summary()


@pytest.fixture(params=KINDS)
def door(request, docker_engine, tmp_path):
    d = Door(request.param, docker_engine, tmp_path)
    yield d
    d.stop()


def ok(run):
    assert run.rc == 0, run.stdout[-4000:]
    return run


def tls_load(door, host, cert, max_requests=20000):
    return Load('127.0.0.1', door.port, workers=2, keepalive=True, max_requests=max_requests, max_seconds=120,
                rate=TEST_RATE, host_header=host, tls=trusting(cert))


def test_services_share_a_listener_by_host_name_and_path_prefix(door):
    sites = door.sites(web=dict(hosts=['shop.cutover.test']), api=dict(hosts=['shop.cutover.test'], path_prefix='/api'))
    web, api = sites['web'], sites['api']
    ok(web.deploy('v1'))
    ok(api.deploy('v2'))
    port = door.port
    assert get(port, 'shop.cutover.test') == (200, 'demoapp v1')
    assert get(port, 'shop.cutover.test', '/api/version') == (200, 'v2')   # the prefix taken off on the way
    assert get(port, 'shop.cutover.test', '/version') == (200, 'v1')
    assert get(port, 'shop.cutover.test', '/apiary')[0] == 404             # not /api: the web app's own 404
    assert get(port, 'other.cutover.test') == (404, 'no service here')      # a host no service claims

    # a third service asking for api's place is refused before any change, naming both
    before = door.listener()
    dup = door.site('dup', hosts=['shop.cutover.test'], path_prefix='/api/')
    refused = dup.deploy('v3')
    assert refused.rc != 0
    assert 'services %s and %s both claim shop.cutover.test/api' % (api.service, dup.service) in refused.stdout, refused.stdout[-3000:]
    assert door.listener() == before
    assert not os.path.exists(door.service_file(dup.service))
    assert dup.running(settle=False) == []
    assert get(port, 'shop.cutover.test', '/api/version') == (200, 'v2')

    # a deploy of a service already on the listener: HAProxy changes only its backend's slots (no reload)
    workers = door.workers()
    again = ok(web.deploy('v3'))
    assert 'reload' not in again.task(PREPARE)['result']['proxy_actions']
    if door.kind == 'haproxy':
        assert door.workers() == workers
    assert get(port, 'shop.cutover.test') == (200, 'demoapp v3')
    assert get(port, 'shop.cutover.test', '/api/version') == (200, 'v2')


def test_tls_per_service_by_sni_blue_green_under_load_and_rotation(door):
    cert_a, key_a = self_signed('a.cutover.test')
    cert_b, key_b = self_signed('b.cutover.test')
    paths_b = [door.tmp / 'b.crt', door.tmp / 'b.key']  # b's as files on the host, a's as PEM text
    for path, text in zip(paths_b, (cert_b, key_b)):
        path.write_text(text)
    redirect_port = free_port()
    sites = door.sites(
        a=dict(hosts=['a.cutover.test'], tls=dict(certificate=cert_a, key=key_a, redirect_from='127.0.0.1:%d' % redirect_port)),
        b=dict(hosts=['b.cutover.test'], tls=dict(certificate=str(paths_b[0]), key=str(paths_b[1]))))
    a, b = sites['a'], sites['b']
    port = door.port
    ok(a.deploy('v1'))
    # a second service joins the listener: one graceful reload, under TLS keep-alive load on the first
    with tls_load(door, 'a.cutover.test', cert_a) as joining:
        joining.wait_for(20)
        added = ok(b.deploy('v1'))
        joining.wait_for(20)
    assert 'reload' in added.task(PREPARE)['result']['proxy_actions']
    door.record('join', joining)
    door.assert_kept_up(joining)

    # each host name gets its own certificate, and verifies against it alone
    assert same_certificate(served_certificate(port, 'a.cutover.test'), cert_a)
    assert same_certificate(served_certificate(port, 'b.cutover.test'), cert_b)
    assert get(port, 'a.cutover.test', tls=trusting(cert_a)) == (200, 'demoapp v1')
    assert get(port, 'b.cutover.test', tls=trusting(cert_b)) == (200, 'demoapp v1')
    assert get(port, 'c.cutover.test', tls=unverified()) == (404, 'no service here')
    assert get(redirect_port, 'a.cutover.test', '/x?y=1')[0] == 301

    # blue-green of a under TLS keep-alive load on both services
    workers = door.workers()
    with tls_load(door, 'a.cutover.test', cert_a) as on_a, tls_load(door, 'b.cutover.test', cert_b) as on_b:
        on_a.wait_for(20)
        moved = ok(a.deploy('v2'))
        on_a.wait_for(20)
    door.record('blue-green', on_a, on_b)
    door.assert_kept_up(on_a, on_b)
    assert on_a.versions.get('v2')
    assert 'reload' not in moved.task(PREPARE)['result']['proxy_actions']
    if door.kind == 'haproxy':
        assert door.workers() == workers

    # a new certificate for a, under load: HAProxy loads it through the Runtime API (no reload), the others reload
    cert_a2, key_a2 = self_signed('a.cutover.test', label='rotated')
    a.proxy['tls'] = dict(a.proxy['tls'], certificate=cert_a2, key=key_a2)
    with tls_load(door, 'a.cutover.test', cert_a + cert_a2) as rotating:  # a client trusts both (as both chain to its CA)
        rotating.wait_for(20)
        rotated = ok(a.deploy('v2', playbook_args=('--diff', '-v')))
        rotating.wait_for(5)
    door.record('rotation', rotating)
    actions = rotated.task(PREPARE)['result']['proxy_actions']
    if door.kind == 'haproxy':
        assert any(x.startswith('load ') and x.endswith('%s.pem at run time' % a.service) for x in actions), actions
        assert 'reload' not in actions and door.workers() == workers
        assert rotating.failed == 0, rotating.summary()  # the open connections keep the certificate they began with
    else:
        assert 'reload' in actions
        assert rotating.failed <= RELOAD_FLOOR, rotating.summary()  # connections reopened get the new one
    assert same_certificate(served_certificate(port, 'a.cutover.test'), cert_a2)
    assert get(port, 'a.cutover.test', tls=trusting(cert_a2)) == (200, 'demoapp v2')
    secret_line = key_a2.splitlines()[1]
    assert secret_line not in rotated.stdout and secret_line not in rotated.stderr  # not in the diff, not in -v
    if door.kind != 'caddy':  # Caddy keeps it in its own (autosaved) config
        pem = os.path.join(door.config_dir, 'certs', '%s.pem' % a.service)
        assert oct(os.stat(pem).st_mode & 0o777) == '0o600' and cert_a2.strip() in open(pem).read()

    # the expiry, as status shows it and as the metrics file publishes it
    not_after = x509.load_pem_x509_certificate(cert_a2.encode()).not_valid_after_utc
    record = rotated.task(PREPARE)['result']['certificate']
    assert record['not_after'] == not_after.strftime('%Y-%m-%dT%H:%M:%SZ') and record['hosts'] == ['a.cutover.test']
    metrics = (a.state_dir / 'metrics' / 'cutover.prom').read_text()
    assert ('cutover_tls_certificate_expiry_timestamp_seconds{service="%s",hosts="a.cutover.test"} %d'
            % (a.service, calendar.timegm(not_after.utctimetuple()))) in metrics


def test_remove_takes_one_service_off_a_shared_listener_while_the_other_answers(door):
    sites = door.sites(keep=dict(hosts=['keep.cutover.test']), gone=dict(hosts=['gone.cutover.test']))
    keep, gone = sites['keep'], sites['gone']
    port = door.port
    step = REMOVE_STEP.format(gone.service)
    ok(keep.deploy('v1'))
    ok(gone.deploy('v1'))
    ok(gone.deploy('v2'))  # v1 kept stopped for a rollback: removed too
    assert len(gone.containers()) == 2

    planned = ok(gone.deploy(None, playbook=REMOVE, playbook_args=('--check',)))
    assert planned.task(step)['result']['changed'] and os.path.exists(door.service_file(gone.service))
    assert get(port, 'gone.cutover.test') == (200, 'demoapp v2') and len(gone.containers()) == 2

    with Load('127.0.0.1', port, workers=2, keepalive=True, max_requests=20000, max_seconds=120, rate=TEST_RATE,
              host_header='keep.cutover.test') as other:
        other.wait_for(20)
        removed = ok(gone.deploy(None, playbook=REMOVE))
        other.wait_for(20)
    door.record('remove', other)
    door.assert_kept_up(other)
    result = removed.task(step)['result']
    assert result['changed'] and 'reload' in result['proxy_actions'] and len(result['removed']) == 2
    assert get(port, 'gone.cutover.test') == (404, 'no service here')
    assert get(port, 'keep.cutover.test') == (200, 'demoapp v1')
    assert gone.containers(settle=False) == [] and not os.path.exists(door.service_file(gone.service))
    state = gone.state()
    assert state['live'] is None and [h['outcome'] for h in state['history']] == ['succeeded', 'succeeded']
    assert not (gone.state_dir / ('%s.lock' % gone.service)).exists()

    again = ok(gone.deploy(None, playbook=REMOVE))
    assert again.task(step)['result']['changed'] is False

    purged = ok(gone.deploy(None, playbook=REMOVE, cutover_purge=True))
    assert purged.task(step)['result']['state'] == 'purged' and gone.state() == {}
    metrics = (gone.state_dir / 'metrics' / 'cutover.prom').read_text()
    assert 'service="%s"' % gone.service not in metrics


def served_by_servers(site):
    """Requests the service's servers have answered so far, as HAProxy counts them (`show stat` stot)."""
    return sum(int(r['stot'] or 0) for r in HAProxy(site.proxy['admin_socket']).server_stats(site.service).values())


def test_maintenance_answers_503_reaching_no_app_and_a_deploy_goes_live_behind_it(door):
    site = door.site('maint')
    page = '<html><body>back soon</body></html>\n'
    step = 'Switch the route\'s maintenance mode of %s' % site.service
    ok(site.deploy('v1'))
    planned = ok(site.deploy(None, playbook=MAINTENANCE, playbook_args=('--check',), cutover_maintenance='on'))
    assert planned.task(step)['result']['changed'] and get(door.port, 'x') == (200, 'demoapp v1')

    on = ok(site.deploy(None, playbook=MAINTENANCE, cutover_maintenance='on', cutover_maintenance_page=page))
    assert on.task(step)['result']['maintenance'] is True
    assert ('reload' in on.task(step)['result']['actions']) == (door.kind == 'haproxy')  # the others take the page as is
    answered = served_by_servers(site) if door.kind == 'haproxy' else None
    with Load('127.0.0.1', door.port, workers=2, keepalive=True, max_requests=300, max_seconds=60,
              rate=TEST_RATE) as load:
        load.wait_for(300, timeout=30)
    assert load.ok == 0 and dict(load.errors) == {'HTTP 503': load.failed} and load.failed == 300, load.summary()
    conn = http.client.HTTPConnection('127.0.0.1', door.port, timeout=5)
    conn.request('GET', '/version')
    resp = conn.getresponse()
    assert (resp.status, resp.getheader('Retry-After'), resp.read().decode()) == (503, '60', page)
    conn.close()
    if door.kind == 'haproxy':
        assert served_by_servers(site) == answered  # no request reached the app

    ok(site.deploy('v2'))  # a deploy during maintenance: v2 goes live behind it
    assert get(door.port, 'x')[0] == 503
    assert ok(site.deploy(None, playbook=STATUS)).task(
        'Say that the route is in maintenance (cutover.deploy.maintenance)')['status'] == 'ok'

    off = ok(site.deploy(None, playbook=MAINTENANCE, cutover_maintenance='off'))
    assert off.task(step)['result']['actions'] == ['maintenance off']  # no reload
    assert get(door.port, 'x') == (200, 'demoapp v2')
    again = ok(site.deploy(None, playbook=MAINTENANCE, cutover_maintenance='off'))
    assert again.task(step)['result']['changed'] is False
    back_on = ok(site.deploy(None, playbook=MAINTENANCE, cutover_maintenance='on'))  # the page it has stays
    assert back_on.task(step)['result']['actions'] == ['maintenance on'] and get(door.port, 'x') == (503, page.strip())
    ok(site.deploy(None, playbook=MAINTENANCE, cutover_maintenance='off'))
    assert get(door.port, 'x') == (200, 'demoapp v2')
    refused = site.deploy(None, playbook=MAINTENANCE, cutover_maintenance='maybe')
    assert refused.rc != 0 and 'cutover_maintenance maybe is invalid: use on or off' in refused.stdout


@pytest.fixture
def acme_server(tmp_path):
    server, procs = start_acme_server(tmp_path / 'pebble')
    yield server
    stop_acme_server(procs)


def test_each_host_s_certificate_comes_from_an_acme_server_and_is_renewed(door, acme_server):
    """A real ACME exchange: pebble validates HTTP-01 by connecting to the host name (its DNS answers 127.0.0.1) on
    the front door's plain listener, where the proxy answers the challenge (Caddy itself; HAProxy and nginx pass it
    to lego, which the deploy runs); the certificate then served chains to pebble's root. HAProxy and nginx renew in
    every deploy and status once fewer than renew_days days are left: with more days than the certificate has (pebble
    issues them for years), the next deploy renews it, and the new one is served. Caddy renews by itself, with no
    play running: not forced here."""
    acme = dict(email='ops@cutover.test', directory=acme_server.directory, ca_cert=acme_server.ca_cert)
    site = door.site('acme', hosts=['acme.cutover.test'],
                     tls=dict(redirect_from='127.0.0.1:%d' % acme_server.http_port, acme=acme))
    first = ok(site.deploy('v1'))
    actions = first.task(PREPARE)['result']['proxy_actions']
    root = trusting(acme_server.root())
    if door.kind == 'caddy':
        assert 'obtain and renew certificates for acme.cutover.test' in actions, actions
    else:
        assert any(a.startswith('obtained the certificate of acme.cutover.test') for a in actions), actions
    end, answer = time.monotonic() + 60, None  # Caddy obtains it in the background; lego within the deploy
    while time.monotonic() < end and answer != (200, 'demoapp v1'):
        try:
            answer = get(door.port, 'acme.cutover.test', tls=root)
        except (OSError, http.client.HTTPException):
            time.sleep(0.5)
    assert answer == (200, 'demoapp v1')  # verified against pebble's root: issued, not self-signed
    served = x509.load_pem_x509_certificate(served_certificate(door.port, 'acme.cutover.test').encode())
    assert served.issuer != served.subject and 'Pebble' in served.issuer.rfc4514_string()

    again = ok(site.deploy('v2'))  # not due: the certificate stays
    assert not [a for a in again.task(PREPARE)['result']['proxy_actions'] if 'ACME' in a or 'obtain' in a or 'renew' in a]
    record = again.task(PREPARE)['result']['certificate']
    assert record['hosts'] == ['acme.cutover.test'] and record['not_after'] == \
        served.not_valid_after_utc.strftime('%Y-%m-%dT%H:%M:%SZ')
    assert get(door.port, 'acme.cutover.test', tls=root) == (200, 'demoapp v2')
    if door.kind == 'caddy':
        return
    site.proxy['tls'] = dict(site.proxy['tls'], acme=dict(acme, renew_days=3650))
    renewed = ok(site.deploy('v2'))
    assert any(a.startswith('renewed the certificate of acme.cutover.test') for a in
               renewed.task(PREPARE)['result']['proxy_actions'])
    fresh = x509.load_pem_x509_certificate(served_certificate(door.port, 'acme.cutover.test').encode())
    assert fresh.serial_number != served.serial_number and 'Pebble' in fresh.issuer.rfc4514_string()
    assert get(door.port, 'acme.cutover.test', tls=root) == (200, 'demoapp v2')

    # with no play: what the daily timer runs on a systemd host (acme_renew.RENEW_SCRIPT over the config folder's
    # job files), run here by hand since this machine has no systemd; it renews again (renew_days) and loads it
    script = door.tmp / 'renew.py'
    script.write_text(RENEW_SCRIPT)
    renewal = subprocess.run([sys.executable, str(script), door.config_dir], capture_output=True, text=True, timeout=300,
                             check=False)
    assert renewal.returncode == 0 and '%s: renewed and loaded' % site.service in renewal.stdout, renewal.stdout
    end = time.monotonic() + 15  # nginx's reload takes effect a moment after it returns
    while True:
        third = x509.load_pem_x509_certificate(served_certificate(door.port, 'acme.cutover.test').encode())
        if third.serial_number not in (served.serial_number, fresh.serial_number) or time.monotonic() > end:
            break
        time.sleep(0.2)
    assert third.serial_number not in (served.serial_number, fresh.serial_number)
    assert get(door.port, 'acme.cutover.test', tls=root) == (200, 'demoapp v2')
