"""Nothing needs a play to come back: on a host with real systemd as PID 1 (scripts/systemd-host.sh, a
systemd-nspawn machine over this machine's root, reached over SSH, with its own Docker as docker.service),
Cutover's default HAProxy is a unit of its own. It comes back after kill -9 and after a reboot with no play,
status reports and repairs it, and a host still running the unsupervised HAProxy of an older release moves
to the unit in an ordinary deploy with no failed request. Traffic goes only to the test host's own address."""

from __future__ import annotations

import subprocess
import time

import pytest
from cryptography import x509

from bench.loadgen import Load
from tests.acme import start_acme_server, stop as stop_acme_server
from tests.helpers import REPO, run_playbook
from tests.tls import served_certificate_at

DEPLOY = REPO / 'playbooks' / 'deploy.yml'
STATUS = REPO / 'playbooks' / 'status.yml'
SCRIPT = REPO / 'scripts' / 'systemd-host.sh'
INVENTORY = '/var/lib/cutover-systemd-host/inventory.yml'
ADDRESS = '10.231.0.250'  # the test host's own namespace address (scripts/systemd-host.sh)


@pytest.fixture(scope='module')
def systemd_host():
    up = subprocess.run(['bash', str(SCRIPT), 'up'], capture_output=True, text=True, timeout=300, check=False)
    assert up.returncode == 0, (up.stdout, up.stderr)
    yield
    subprocess.run(['bash', str(SCRIPT), 'down'], capture_output=True, text=True, timeout=300, check=False)


def on_host(*cmd):
    done = subprocess.run(['bash', str(SCRIPT), 'exec'] + list(cmd), capture_output=True, text=True, timeout=60,
                          check=False)
    return done.stdout.strip()


def deploy(extra):
    return run_playbook(DEPLOY, extra, inventory=INVENTORY)


def body(port):
    try:
        done = subprocess.run(['curl', '-s', '-m', '1', 'http://%s:%d/' % (ADDRESS, port)], capture_output=True,
                              text=True, timeout=5, check=False)
    except subprocess.TimeoutExpired:
        return ''
    return done.stdout.strip()


def seconds_until_served(port, want, timeout):
    """Seconds until the service answers `want` (bounded: at most one request per 0.1 s for timeout), or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if body(port) == want:
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def site(service, port, **proxy):
    return dict(cutover_service=service, cutover_container_port=8080, cutover_health=dict(path='/health', interval=0.3),
                cutover_proxy=dict(listen='%s:%d' % (ADDRESS, port), **proxy))


def assert_ok(run):
    assert run.rc == 0, (run.stdout[-4000:], run.stderr[-2000:])


def test_an_unsupervised_haproxy_moves_to_the_unit_in_a_deploy_under_load(systemd_host):
    v = site('upgrade', 18080)
    assert_ok(deploy(dict(v, cutover_image='demoapp:v1', cutover_proxy=dict(v['cutover_proxy'], runtime='host'))))
    old = on_host('cat', '/run/cutover/haproxy/haproxy.pid').split()
    assert old and on_host('systemctl', 'is-active', 'cutover-haproxy.service') != 'active'

    with Load(ADDRESS, 18080, workers=2, keepalive=True, max_requests=40000, max_seconds=90, rate=100) as keep, \
            Load(ADDRESS, 18080, workers=2, keepalive=False, max_requests=40000, max_seconds=90, rate=100) as fresh:
        keep.wait_for(100)
        fresh.wait_for(100)
        run = deploy(dict(v, cutover_image='demoapp:v2'))  # the default runtime, auto: a unit on this host
        keep.wait_for(100)  # the unit's process serves both kinds of client after the old one finished
        fresh.wait_for(100)
    assert_ok(run)
    for load in (keep, fresh):
        summary = load.summary()
        assert summary['failed'] == 0 and set(summary['versions']) == {'v1', 'v2'}, summary
    prepare = run.task('Take the deploy lock, ensure the proxy route and converge what an interrupted run left behind')
    assert prepare['result']['supervision']['runtime'] == 'systemd'
    assert on_host('systemctl', 'is-active', 'cutover-haproxy.service') == 'active'
    assert on_host('systemctl', 'is-enabled', 'cutover-haproxy.service') == 'enabled'
    time.sleep(1)
    alive = [pid for pid in old if on_host('sh', '-c', 'kill -0 %s 2>/dev/null && echo yes' % pid) == 'yes']
    assert alive == []  # the old process finished once the unit served on its sockets
    journal = on_host('journalctl', '-u', 'cutover-haproxy.service', '--no-pager', '-o', 'cat')
    assert 'New worker' in journal and 'Failed to get the sockets' not in journal, journal[-2000:]  # handed over (-x)


# each with a configuration of its own: a unit of its own (cutover-<proxy>-<hash>) beside any default one
PROXIES = dict(
    haproxy=dict(config_dir='/etc/cutover/web-haproxy', admin_socket='/run/cutover/web-haproxy/admin.sock',
                 state_file='/var/lib/cutover/web-haproxy/server-state'),
    nginx=dict(type='nginx', conf='/etc/cutover/web-nginx/nginx.conf', upstream_dir='/etc/cutover/web-nginx/upstreams',
               pid_file='/run/cutover/web-nginx/nginx.pid'),
    caddy=dict(type='caddy', caddy_dir='/etc/cutover/web-caddy', admin_url='unix//run/cutover/web-caddy/admin.sock'),
)


@pytest.mark.parametrize('kind, port', [('haproxy', 18081), ('nginx', 18082), ('caddy', 18083)])
def test_on_a_systemd_host_the_proxy_comes_back_after_a_kill_and_a_reboot_with_no_play(systemd_host, kind, port):
    v = site('web-%s' % kind, port, **PROXIES[kind])
    assert_ok(deploy(dict(v, cutover_image='demoapp:v1')))
    assert_ok(deploy(dict(v, cutover_image='demoapp:v2')))
    status = run_playbook(STATUS, v, inventory=INVENTORY)
    assert_ok(status)
    supervision = status.task('Take the deploy lock, ensure the proxy route and converge what an interrupted run '
                              'left behind')['result']['supervision']
    unit = supervision['unit']
    assert unit.startswith('cutover-%s-' % kind) and supervision['active'] and supervision['enabled'], supervision
    assert status.task('Show how the proxy is kept running (supervised, it comes back by itself after a crash or a '
                       'reboot)')['status'] == 'ok'

    master = on_host('systemctl', 'show', '-p', 'MainPID', '--value', unit)
    on_host('kill', '-9', master)
    assert seconds_until_served(port, 'demoapp v2', 10) is not None, on_host('systemctl', 'status', '--no-pager', unit)

    reboot = subprocess.run(['bash', str(SCRIPT), 'reboot'], capture_output=True, text=True, timeout=300, check=False)
    assert reboot.returncode == 0, (reboot.stdout, reboot.stderr)
    # within 30 s of the boot: the unit and the container (restart policy) are back, and the route with them
    assert seconds_until_served(port, 'demoapp v2', 30) is not None, on_host('systemctl', 'status', '--no-pager', unit)

    # status afterwards finds nothing to repair; a unit someone disabled is enabled again
    again = run_playbook(STATUS, v, inventory=INVENTORY)
    assert_ok(again)
    assert again.changed == [], [r['task'] for r in again.changed]
    on_host('systemctl', 'disable', '--quiet', unit)
    repaired = run_playbook(STATUS, v, inventory=INVENTORY)
    assert_ok(repaired)
    actions = repaired.task('Take the deploy lock, ensure the proxy route and converge what an interrupted run '
                            'left behind')['result']['proxy_actions']
    assert actions == ['enable %s' % unit] and on_host('systemctl', 'is-enabled', unit) == 'enabled'

    # a unit someone stopped (Restart=always does not undo a stop) is started again by status, under the lock
    on_host('systemctl', 'stop', unit)
    assert body(port) == ''
    started = run_playbook(STATUS, v, inventory=INVENTORY)
    assert_ok(started)
    actions = started.task('Take the deploy lock, ensure the proxy route and converge what an interrupted run '
                           'left behind')['result']['proxy_actions']
    assert 'start' in actions and on_host('systemctl', 'is-active', unit) == 'active', actions
    assert seconds_until_served(port, 'demoapp v2', 10) is not None

    # a unit file someone removed is written again, and loaded, with the proxy serving throughout
    path = '/etc/systemd/system/%s' % unit
    on_host('rm', '-f', path)
    on_host('systemctl', 'daemon-reload')
    rewritten = run_playbook(STATUS, v, inventory=INVENTORY)
    assert_ok(rewritten)
    actions = rewritten.task('Take the deploy lock, ensure the proxy route and converge what an interrupted run '
                             'left behind')['result']['proxy_actions']
    assert 'write %s' % path in actions, actions
    assert on_host('systemctl', 'is-active', unit) == 'active' and on_host('systemctl', 'is-enabled', unit) == 'enabled'
    assert body(port) == 'demoapp v2'


def test_on_a_systemd_host_podman_s_live_container_comes_back_after_a_reboot_with_no_play(systemd_host):
    """Podman has no daemon to restart containers at boot: Cutover's own unit starts each service's live
    container (and only that: a stopped release kept for a rollback stays stopped), and at shutdown stops them
    before systemd stops any container's scope (a drop-in orders every libpod scope after the unit), so that
    Podman's restart policy never fights the shutdown. Without that order this test failed in about half its runs:
    the container restarted again and again until the power went, and Podman 4.3 could not start it after the boot
    (`error mounting .../userdata/hostname`)."""
    port = 18084
    v = dict(site('pod-web', port, config_dir='/etc/cutover/pod-haproxy', admin_socket='/run/cutover/pod-haproxy/admin.sock',
                  state_file='/var/lib/cutover/pod-haproxy/server-state'),
             cutover_engine=dict(type='podman'), cutover_keep_releases=1)
    assert_ok(deploy(dict(v, cutover_image='localhost/demoapp:v1')))
    second = deploy(dict(v, cutover_image='localhost/demoapp:v2'))
    assert_ok(second)
    prepared = second.task('Take the deploy lock, ensure the proxy route and converge what an interrupted run left '
                           'behind')['result']
    boot = prepared['containers_at_boot']
    assert boot == dict(unit='cutover-podman-start.service', enabled=True, active=True), boot
    assert on_host('systemctl', 'is-enabled', boot['unit']) == 'enabled'
    names = on_host('podman', 'ps', '-a', '--filter', 'label=io.cutover.service=pod-web', '--format', '{{.Names}}').split()
    live = [second.task('Persist green as live, then remove the old containers')['result']['live']]
    assert len(names) == 2 and live[0] in names, (names, live)  # v2 live, v1 kept (stopping in the background)

    reboot = subprocess.run(['bash', str(SCRIPT), 'reboot'], capture_output=True, text=True, timeout=300, check=False)
    assert reboot.returncode == 0, (reboot.stdout, reboot.stderr)
    journal = ('journalctl', '-b', '-u', boot['unit'], '--no-pager')
    assert seconds_until_served(port, 'demoapp v2', 30) is not None, on_host(*journal)
    after = on_host('podman', 'ps', '--filter', 'label=io.cutover.service=pod-web', '--filter', 'status=running',
                    '--format', '{{.Names}}').split()
    assert after == live, (after, live)  # the live release only: the kept one was not started
    assert '%s: running' % live[0] in on_host('journalctl', '-b', '-u', boot['unit'], '--no-pager', '-o', 'cat')

    again = run_playbook(STATUS, v, inventory=INVENTORY)
    assert_ok(again)
    assert again.changed == [], [r['task'] for r in again.changed]


def test_on_a_systemd_host_a_timer_renews_the_acme_certificate_with_no_play(systemd_host, tmp_path):
    """HAProxy with an ACME certificate (lego, pebble as the ACME server): the deploy writes and starts Cutover's daily
    renewal timer; what the timer starts renews the certificate (renew_days above what pebble's certificates have
    left) and HAProxy serves the new one, with no play running. Pebble listens on this machine's side of the test
    host's network and its DNS answers the test host's address, so the validation connects to that host's plain
    listener."""
    server, procs = start_acme_server(tmp_path / 'pebble', address='10.231.0.249', names_at=ADDRESS)
    try:
        acme = dict(email='ops@cutover.test', directory=server.directory, ca_cert=server.ca_cert, renew_days=3650)
        v = site('acme-web', 18085, hosts=['acme.cutover.test'],
                 tls=dict(redirect_from='%s:%d' % (ADDRESS, server.http_port), acme=acme))
        first = deploy(dict(v, cutover_image='demoapp:v1'))
        assert_ok(first)
        actions = first.task('Take the deploy lock, ensure the proxy route and converge what an interrupted run left '
                             'behind')['result']['proxy_actions']
        timer = next(a.split()[1] for a in actions if a.startswith('enable cutover-acme-renew-'))
        assert on_host('systemctl', 'is-enabled', timer) == 'enabled' and on_host('systemctl', 'is-active', timer) == 'active'
        before = served_serial(18085)
        on_host('systemctl', 'start', timer.replace('.timer', '.service'))  # what the timer starts, daily
        assert served_serial(18085) != before
        assert 'renewed and loaded' in on_host('journalctl', '-u', timer.replace('.timer', '.service'), '--no-pager', '-o', 'cat')
    finally:
        stop_acme_server(procs)


def served_serial(port):
    """The serial number of the certificate the test host's listener serves for acme.cutover.test."""
    pem = served_certificate_at(ADDRESS, port, 'acme.cutover.test')
    return x509.load_pem_x509_certificate(pem.encode()).serial_number
