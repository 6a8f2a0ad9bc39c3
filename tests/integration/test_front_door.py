"""The front door on HAProxy (the default proxy), through ansible-playbook on the local Docker engine: several
services on one listener by host name and path prefix, a 404 for a host no service claims, a place two services
claim refused before any change, TLS with each service's own certificate by SNI, a redirect to HTTPS, blue-green
deploys under TLS keep-alive load on both services, and a certificate rotation that needs no reload. The host
names resolve nowhere: every request goes to 127.0.0.1 and names its host in the Host header and the SNI."""

from __future__ import annotations

import calendar
import http.client
import os

from cryptography import x509

from bench.loadgen import Load, free_port
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.front_door import listener_file
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import HAProxy
from tests.helpers import REPO, TEST_RATE
from tests.sites import Site
from tests.tls import get, same_certificate, self_signed, served_certificate, trusting, unverified

REMOVE = REPO / 'playbooks' / 'remove.yml'
MAINTENANCE = REPO / 'playbooks' / 'maintenance.yml'
STATUS = REPO / 'playbooks' / 'status.yml'
REMOVE_STEP = 'Remove the route, then the containers, then the live record of {}'
PREPARE = 'Take the deploy lock, ensure the proxy route and converge what an interrupted run left behind'


def sites_on_one_listener(engine, tmp_path, **per_service):
    """{service: Site}, all sharing the first one's HAProxy (config, sockets, state) and listen address; the
    value of per_service is what the service adds to its proxy settings (hosts, path_prefix, tls)."""
    sites, shared = {}, None
    for service, extra in per_service.items():
        site = Site(engine, 'fd-%s' % service, tmp_path / service)
        if shared is None:
            shared = {k: site.proxy[k] for k in ('listen', 'config_dir', 'admin_socket', 'state_file')}
        site.proxy.update(shared, **extra)
        site.port = int(shared['listen'].rsplit(':', 1)[1])
        sites[service] = site
    return sites


def worker_pid(site):
    """The HAProxy worker serving now: a reload (USR2 in master-worker mode) starts a new one."""
    info = HAProxy(site.proxy['admin_socket']).command('show info')
    return next(line.split(': ')[1] for line in info.splitlines() if line.startswith('Pid: '))


def ok(run):
    assert run.rc == 0, run.stdout[-4000:]
    return run


def test_services_share_a_listener_by_host_name_and_path_prefix(docker_engine, tmp_path):
    sites = sites_on_one_listener(docker_engine, tmp_path, web=dict(hosts=['shop.cutover.test']),
                                  api=dict(hosts=['shop.cutover.test'], path_prefix='/api'))
    web, api = sites['web'], sites['api']
    try:
        ok(web.deploy('v1'))
        ok(api.deploy('v2'))
        port = web.port
        assert get(port, 'shop.cutover.test') == (200, 'demoapp v1')
        assert get(port, 'shop.cutover.test', '/api/version') == (200, 'v2')   # the prefix taken off on the way
        assert get(port, 'shop.cutover.test', '/version') == (200, 'v1')
        assert get(port, 'shop.cutover.test', '/apiary')[0] == 404             # not /api: the web app's own 404
        assert get(port, 'other.cutover.test') == (404, 'no service here')      # a host no service claims

        # a third service asking for api's place is refused before any change, naming both
        listener = listener_file(web.proxy['config_dir'], web.proxy['listen'])
        before = open(listener).read()
        dup = Site(docker_engine, 'fd-dup', tmp_path / 'dup')
        dup.proxy.update({k: web.proxy[k] for k in ('listen', 'config_dir', 'admin_socket', 'state_file')},
                         hosts=['shop.cutover.test'], path_prefix='/api/')
        refused = dup.deploy('v3')
        assert refused.rc != 0
        assert 'services fd-api and fd-dup both claim shop.cutover.test/api' in refused.stdout, refused.stdout[-3000:]
        assert open(listener).read() == before
        assert not os.path.exists(os.path.join(web.proxy['config_dir'], 'service-fd-dup.cfg'))
        assert dup.running(settle=False) == []
        assert get(port, 'shop.cutover.test', '/api/version') == (200, 'v2')

        # a deploy of a service already on the listener changes only its backend's slots: no reload
        pid = worker_pid(web)
        again = ok(web.deploy('v3'))
        assert 'reload' not in again.task(PREPARE)['result']['proxy_actions']
        assert worker_pid(web) == pid
        assert get(port, 'shop.cutover.test') == (200, 'demoapp v3')
        assert get(port, 'shop.cutover.test', '/api/version') == (200, 'v2')
    finally:
        web.stop_proxy()


def test_tls_per_service_by_sni_blue_green_under_load_and_rotation_without_reload(docker_engine, tmp_path):
    cert_a, key_a = self_signed('a.cutover.test')
    cert_b, key_b = self_signed('b.cutover.test')
    redirect_port = free_port()
    sites = sites_on_one_listener(
        docker_engine, tmp_path,
        a=dict(hosts=['a.cutover.test'], tls=dict(certificate=cert_a, key=key_a, redirect_from='127.0.0.1:%d' % redirect_port)),
        b=dict(hosts=['b.cutover.test'], tls=dict(certificate=cert_b, key=key_b)))
    a, b = sites['a'], sites['b']
    port = a.port
    try:
        ok(a.deploy('v1'))
        # a second service joins the listener: one graceful reload, under TLS keep-alive load on the first
        with Load('127.0.0.1', port, workers=2, keepalive=True, max_requests=20000, max_seconds=120, rate=TEST_RATE,
                  host_header='a.cutover.test', tls=trusting(cert_a)) as joining:
            joining.wait_for(20)
            added = ok(b.deploy('v1'))
            joining.wait_for(20)
        assert 'reload' in added.task(PREPARE)['result']['proxy_actions']
        assert joining.failed == 0 and joining.ok > 40, joining.summary()

        # each host name gets its own certificate, and verifies against it alone
        assert same_certificate(served_certificate(port, 'a.cutover.test'), cert_a)
        assert same_certificate(served_certificate(port, 'b.cutover.test'), cert_b)
        assert get(port, 'a.cutover.test', tls=trusting(cert_a)) == (200, 'demoapp v1')
        assert get(port, 'b.cutover.test', tls=trusting(cert_b)) == (200, 'demoapp v1')
        assert get(port, 'c.cutover.test', tls=unverified()) == (404, 'no service here')  # the first certificate, and a 404
        assert get(redirect_port, 'a.cutover.test', '/x?y=1')[0] == 301

        # blue-green of a under TLS keep-alive load on both services: nothing fails, nothing reloads
        pid = worker_pid(a)
        with Load('127.0.0.1', port, workers=2, keepalive=True, max_requests=20000, max_seconds=120, rate=TEST_RATE,
                  host_header='a.cutover.test', tls=trusting(cert_a)) as on_a, \
                Load('127.0.0.1', port, workers=2, keepalive=True, max_requests=20000, max_seconds=120, rate=TEST_RATE,
                     host_header='b.cutover.test', tls=trusting(cert_b)) as on_b:
            on_a.wait_for(20)
            moved = ok(a.deploy('v2'))
            on_a.wait_for(20)
        assert on_a.failed == 0 and on_b.failed == 0, (on_a.summary(), on_b.summary())
        assert on_a.versions.get('v2') and on_b.ok > 40
        assert 'reload' not in moved.task(PREPARE)['result']['proxy_actions'] and worker_pid(a) == pid

        # a new certificate for a: loaded through the Runtime API under load, no reload, no failed request
        cert_a2, key_a2 = self_signed('a.cutover.test')
        a.proxy['tls'] = dict(a.proxy['tls'], certificate=cert_a2, key=key_a2)
        with Load('127.0.0.1', port, workers=2, keepalive=True, max_requests=20000, max_seconds=120, rate=TEST_RATE,
                  host_header='a.cutover.test', tls=trusting(cert_a)) as rotating:
            rotating.wait_for(20)
            rotated = ok(a.deploy('v2', playbook_args=('--diff', '-v')))
            rotating.wait_for(20)
        actions = rotated.task(PREPARE)['result']['proxy_actions']
        assert any(x.startswith('load ') and x.endswith('fd-a.pem at run time') for x in actions), actions
        assert 'reload' not in actions and worker_pid(a) == pid
        assert rotating.failed == 0, rotating.summary()  # the open connections keep the certificate they began with
        assert same_certificate(served_certificate(port, 'a.cutover.test'), cert_a2)
        assert get(port, 'a.cutover.test', tls=trusting(cert_a2)) == (200, 'demoapp v2')
        secret_line = key_a2.splitlines()[1]
        assert secret_line not in rotated.stdout and secret_line not in rotated.stderr  # not in the diff, not in -v
        # the expiry, as status shows it and as the metrics file publishes it
        not_after = x509.load_pem_x509_certificate(cert_a2.encode()).not_valid_after_utc
        record = rotated.task(PREPARE)['result']['certificate']
        assert record['not_after'] == not_after.strftime('%Y-%m-%dT%H:%M:%SZ') and record['hosts'] == ['a.cutover.test']
        metrics = (a.state_dir / 'metrics' / 'cutover.prom').read_text()
        assert ('cutover_tls_certificate_expiry_timestamp_seconds{service="fd-a",hosts="a.cutover.test"} %d'
                % calendar.timegm(not_after.utctimetuple())) in metrics
        pem = os.path.join(a.proxy['config_dir'], 'certs', 'fd-a.pem')
        assert oct(os.stat(pem).st_mode & 0o777) == '0o600' and cert_a2.strip() in open(pem).read()
    finally:
        a.stop_proxy()


def test_remove_takes_one_service_off_a_shared_listener_while_the_other_answers(docker_engine, tmp_path):
    sites = sites_on_one_listener(docker_engine, tmp_path, keep=dict(hosts=['keep.cutover.test']),
                                  gone=dict(hosts=['gone.cutover.test']))
    keep, gone = sites['keep'], sites['gone']
    port = keep.port
    try:
        ok(keep.deploy('v1'))
        ok(gone.deploy('v1'))
        ok(gone.deploy('v2'))  # v1 kept stopped for a rollback: removed too
        assert len(gone.containers()) == 2
        service_file = os.path.join(gone.proxy['config_dir'], 'service-fd-gone.cfg')

        planned = ok(gone.deploy(None, playbook=REMOVE, playbook_args=('--check',)))
        assert planned.task(REMOVE_STEP.format(gone.service))['result']['changed'] and os.path.exists(service_file)
        assert get(port, 'gone.cutover.test') == (200, 'demoapp v2') and len(gone.containers()) == 2

        with Load('127.0.0.1', port, workers=2, keepalive=True, max_requests=20000, max_seconds=120, rate=TEST_RATE,
                  host_header='keep.cutover.test') as other:
            other.wait_for(20)
            removed = ok(gone.deploy(None, playbook=REMOVE))
            other.wait_for(20)
        assert other.failed == 0 and other.ok > 40, other.summary()
        result = removed.task(REMOVE_STEP.format(gone.service))['result']
        assert result['changed'] and 'reload' in result['proxy_actions'] and len(result['removed']) == 2
        assert get(port, 'gone.cutover.test') == (404, 'no service here')
        assert get(port, 'keep.cutover.test') == (200, 'demoapp v1')
        assert gone.containers(settle=False) == [] and not os.path.exists(service_file)
        state = gone.state()
        assert state['live'] is None and [h['outcome'] for h in state['history']] == ['succeeded', 'succeeded']
        assert not (gone.state_dir / 'fd-gone.lock').exists()

        again = ok(gone.deploy(None, playbook=REMOVE))
        assert again.task(REMOVE_STEP.format(gone.service))['result']['changed'] is False

        purged = ok(gone.deploy(None, playbook=REMOVE, cutover_purge=True))
        assert purged.task(REMOVE_STEP.format(gone.service))['result']['state'] == 'purged' and gone.state() == {}
        metrics = (gone.state_dir / 'metrics' / 'cutover.prom').read_text()
        assert 'service="fd-gone"' not in metrics
    finally:
        keep.stop_proxy()


def served_by_servers(site):
    """Requests the service's servers have answered so far, as HAProxy counts them (`show stat` stot)."""
    return sum(int(r['stot'] or 0) for r in HAProxy(site.proxy['admin_socket']).server_stats(site.service).values())


def test_maintenance_answers_503_reaching_no_app_and_a_deploy_goes_live_behind_it(docker_engine, tmp_path):
    """Any HAProxy service (this one has a listener of its own): on, every request gets the page with 503 and
    Retry-After and none reaches a container (HAProxy's own count of what its servers answered does not move);
    a deploy meanwhile puts v2 live behind it; off, v2 answers."""
    site = Site(docker_engine, 'fd-maint', tmp_path)
    page = '<html><body>back soon</body></html>\n'
    step = 'Switch the route\'s maintenance mode of fd-maint'
    try:
        ok(site.deploy('v1'))
        planned = ok(site.deploy(None, playbook=MAINTENANCE, playbook_args=('--check',), cutover_maintenance='on'))
        assert planned.task(step)['result']['changed'] and get(site.port, 'x') == (200, 'demoapp v1')

        on = ok(site.deploy(None, playbook=MAINTENANCE, cutover_maintenance='on', cutover_maintenance_page=page))
        assert on.task(step)['result']['maintenance'] is True and 'reload' in on.task(step)['result']['actions']
        answered = served_by_servers(site)
        with Load('127.0.0.1', site.port, workers=2, keepalive=True, max_requests=300, max_seconds=60,
                  rate=TEST_RATE) as load:
            load.wait_for(300, timeout=30)
        assert load.ok == 0 and dict(load.errors) == {'HTTP 503': load.failed} and load.failed == 300, load.summary()
        conn = http.client.HTTPConnection('127.0.0.1', site.port, timeout=5)
        conn.request('GET', '/version')
        resp = conn.getresponse()
        assert (resp.status, resp.getheader('Retry-After'), resp.read().decode()) == (503, '60', page)
        conn.close()
        assert served_by_servers(site) == answered  # no request reached the app

        ok(site.deploy('v2'))  # a deploy during maintenance: v2 goes live behind it
        assert get(site.port, 'x')[0] == 503
        assert ok(site.deploy(None, playbook=STATUS)).task(
            'Say that the route is in maintenance (cutover.deploy.maintenance)')['status'] == 'ok'

        off = ok(site.deploy(None, playbook=MAINTENANCE, cutover_maintenance='off'))
        assert off.task(step)['result']['actions'] == ['maintenance off']  # through the Runtime API, no reload
        assert get(site.port, 'x') == (200, 'demoapp v2')
        again = ok(site.deploy(None, playbook=MAINTENANCE, cutover_maintenance='off'))
        assert again.task(step)['result']['changed'] is False
        back_on = ok(site.deploy(None, playbook=MAINTENANCE, cutover_maintenance='on'))  # the page it has stays
        assert back_on.task(step)['result']['actions'] == ['maintenance on'] and get(site.port, 'x') == (503, page.strip())
        ok(site.deploy(None, playbook=MAINTENANCE, cutover_maintenance='off'))
        assert get(site.port, 'x') == (200, 'demoapp v2')
        refused = site.deploy(None, playbook=MAINTENANCE, cutover_maintenance='maybe')
        assert refused.rc != 0 and 'cutover_maintenance maybe is invalid: use on or off' in refused.stdout
    finally:
        site.stop_proxy()
