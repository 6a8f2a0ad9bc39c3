"""The promise under ordinary trouble: the route survives restarts of the app and of the engine with no
play running, status never disturbs a deploy, the lock holds under concurrency, two services share one
proxy without undoing each other, reap keeps what rollback needs, and check mode never fails where the
real run would succeed. Real Docker / Podman, real HAProxy, Caddy and nginx processes, load on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import wait_until
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import HAProxy
from bench.loadgen import Load
from tests.helpers import REPO, TEST_RATE, read_records, remove_proxy_containers, run_playbook, start_playbook
from tests.sites import DEPLOY, ROLLBACK, STATUS, Site, assert_ok, assert_status_converges
from tests.proxies import get_body

RECREATE_STEPS = [
    'Record the release as running',
    'Stop the old containers',
    'Start the new container',
    'Gate the new container on health',
    'Point the route at the new container',
    'Persist the new container as live, then remove the old containers',
]


def body_or_none(port):
    try:
        return get_body(port)
    except OSError:
        return None


def wait_served(port, want, timeout):
    """Seconds until the proxy answers `want`, or None if it never did within timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if body_or_none(port) == want:
            return time.monotonic() - start
        time.sleep(0.2)
    return None


def live_container(site):
    return site.engine.client.containers.get(site.state()['live']['container'])


def wait_record(record, task, timeout=120, status=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(r['task'].endswith(task) and (status is None or r['status'] == status) for r in read_records(record)):
            return True
        time.sleep(0.02)
    return False


def test_killed_app_is_served_again_with_no_play_running(site):
    """kill -9 of the live app: the engine restarts the container on the port pinned at create, and
    HAProxy's active check puts the slot back; nobody runs a play."""
    assert_ok(site.deploy('v1'))
    before = live_container(site)
    pinned = before.attrs['HostConfig']['PortBindings']['8080/tcp'][0]['HostPort']
    assert pinned not in ('', '0') and site.state()['live']['upstream'].endswith(':' + pinned)
    with Load('127.0.0.1', site.port, workers=2, keepalive=False, max_requests=20000, max_seconds=60, rate=20) as load:
        load.wait_for(20)
        os.kill(before.attrs['State']['Pid'], signal.SIGKILL)
        back = wait_served(site.port, 'demoapp v1', 30)
        load.wait_for(40)
    assert back is not None, 'the proxy never served the restarted container'
    after = live_container(site)
    assert after.attrs['RestartCount'] > before.attrs['RestartCount'] or \
        after.attrs['State']['StartedAt'] != before.attrs['State']['StartedAt']
    assert site.route() == site.state()['live']['upstream']  # the route never had to change
    summary = load.summary()
    assert summary['versions'].get('v1', 0) > 0, summary
    print('served again %.1f s after kill -9; %d of %d requests failed meanwhile'
          % (back, summary['failed'], summary['requests']))
    status = run_playbook(STATUS, site.vars)
    assert_ok(status)
    assert status.task('Take the deploy lock, ensure the proxy route and converge what an interrupted run left behind')['result']['changed'] is False


def http_status_or_none(port, path='/'):
    try:
        with urllib.request.urlopen('http://127.0.0.1:%d%s' % (port, path), timeout=2) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def wait_status(port, want, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if http_status_or_none(port) == want:
            return True
        time.sleep(0.2)
    return False


def test_haproxy_checks_the_health_path_and_takes_a_failing_release_out(docker_site):
    """With cutover_health.path, HAProxy's own check is the gate's HTTP GET (a TCP connect would pass): the live
    app stops answering its health path, and HAProxy takes it out (503) with no play running; it answers
    again, and HAProxy puts it back. A status run, which has no health settings of its own to pass, keeps it.
    A deploy whose health path the live release does not answer holds HAProxy's check at a TCP connect (one
    check covers every server of the backend): its gate fails and v1 keeps serving; the next good deploy gives
    the HTTP check back after its swap."""
    s = docker_site
    assert_ok(s.deploy('v1'))
    haproxy, live = HAProxy(s.proxy['admin_socket']), live_container(s)
    assert wait_until(lambda: 'UP' in [r['status'] for r in haproxy.server_stats(s.service).values()], 10)
    slot = next(name for name, row in haproxy.server_stats(s.service).items() if row['status'] == 'UP')
    assert haproxy.server_stats(s.service)[slot]['check_status'] == 'L7OK', haproxy.server_stats(s.service)[slot]
    live.exec_run(['rm', '/www/health'])
    assert wait_status(s.port, 503, 15), 'HAProxy kept routing to a release failing its health path'
    assert haproxy.server_stats(s.service)[slot]['check_status'] == 'L7STS'
    live.exec_run(['sh', '-c', 'echo ok > /www/health'])
    assert wait_status(s.port, 200, 15) and get_body(s.port) == 'demoapp v1'
    status = run_playbook(STATUS, dict(s.vars, cutover_health={}))
    assert_ok(status)
    config = Path(s.proxy['config_dir']) / ('service-%s.cfg' % s.service)
    assert 'http-check send meth GET uri /health ' in config.read_text()

    failed = s.deploy('v2', cutover_health=dict(path='/no-such-page', interval=0.2), cutover_gate_timeout=3)
    assert failed.rc != 0 and 'httpchk' not in config.read_text()
    time.sleep(3)  # three rounds of HAProxy's check (fall 2)
    assert get_body(s.port) == 'demoapp v1'
    assert_ok(s.deploy('v2'))
    assert 'http-check send meth GET uri /health ' in config.read_text() and get_body(s.port) == 'demoapp v2'
    assert wait_until(lambda: 'L7OK' in [r['check_status'] for r in haproxy.server_stats(s.service).values()], 5)


def test_status_gives_the_route_the_weights_a_killed_canary_left(docker_site):
    """A canary killed where the live server had 0 % of new requests (its last step) and green was already
    gone: the route still names the live release, but at weight 0 HAProxy answers 503. The next run under the
    lock (status here) gives each serving server its own weight again."""
    s = docker_site
    assert_ok(s.deploy('v1'))
    haproxy = HAProxy(s.proxy['admin_socket'])
    assert wait_until(lambda: 'UP' in [r['status'] for r in haproxy.server_stats(s.service).values()], 10)
    slot = next(name for name, row in haproxy.server_stats(s.service).items() if row['status'] == 'UP')
    haproxy.set_weight(s.service, slot, 0)
    assert wait_status(s.port, 503, 10)
    status = run_playbook(STATUS, s.vars)
    assert_ok(status)
    assert 'carried the weights a canary left' in ' '.join((status.stdout + status.stderr).split())
    assert get_body(s.port) == 'demoapp v1' and haproxy.weights_off(s.service) == []


@pytest.mark.exclusive
def test_docker_daemon_restart_keeps_the_route(docker_site):
    """dockerd stopped and started again (what a reboot does on a host without systemd, where the engine is started
    at boot): the app container and, with the default settings, the proxy's own container end with the engine and
    come back by their restart policy; the app on its pinned port, served within 60 s with no play run. Status then
    finds nothing to repair."""
    s = docker_site
    first = s.deploy('v1')
    assert_ok(first)
    supervision = first.task('Take the deploy lock, ensure the proxy route and converge what an interrupted run '
                             'left behind')['result']['supervision']
    assert supervision['runtime'] == 'container' and supervision['supervised'], supervision
    proxy = s.engine.client.containers.get(supervision['container'])
    proxy_started = proxy.attrs['State']['StartedAt']
    upstream = s.state()['live']['upstream']
    pid = int(Path('/var/run/docker.pid').read_text())
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + 60
    while Path('/proc/%d' % pid).exists() and time.monotonic() < end:
        time.sleep(0.2)
    subprocess.run(['bash', str(REPO / 'scripts' / 'engines.sh'), 'docker'], check=True, capture_output=True)
    assert wait_served(s.port, 'demoapp v1', 60) is not None
    proxy.reload()
    assert proxy.status == 'running' and proxy.attrs['State']['StartedAt'] != proxy_started  # it ended, and came back
    assert live_container(s).attrs['NetworkSettings']['Ports']['8080/tcp'][0]['HostPort'] == upstream.rsplit(':', 1)[1]
    status = run_playbook(STATUS, s.vars)
    assert_ok(status)
    assert s.route() == s.state()['live']['upstream'] == upstream
    assert status.changed == [], [r['task'] for r in status.changed]


def test_status_during_a_deploy_gate_reports_only(docker_site, tmp_path):
    s = docker_site
    assert_ok(s.deploy('v1'))
    record = tmp_path / 'deploy.jsonl'
    record.touch()
    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=40000, max_seconds=90, rate=TEST_RATE) as load:
        load.wait_for(50)
        deploy = start_playbook(DEPLOY, record, dict(s.vars, cutover_image=s.engine.image('v2'),
                                                     cutover_public_env={'BOOT_DELAY': '6'}))
        assert wait_record(record, 'Gate the new container on health', status='start')
        status = run_playbook(STATUS, s.vars)
        assert deploy.wait(120) == 0, [(r['task'], r['status']) for r in read_records(record)][-8:]
        load.wait_for(50)
    assert_ok(status)
    assert 'reporting only, nothing repaired' in status.stdout
    assert get_body(s.port) == 'demoapp v2'
    assert load.summary()['failed'] == 0, load.summary()
    history = s.state()['history']
    assert [h['outcome'] for h in history] == ['succeeded', 'succeeded'], history


def test_ten_deploys_at_once_run_one_at_a_time(docker_site, tmp_path):
    s = docker_site
    assert_ok(s.deploy('v1'))
    procs = []
    for i in range(10):
        record = tmp_path / ('d%d.jsonl' % i)
        record.touch()
        procs.append(start_playbook(DEPLOY, record, dict(
            s.vars, cutover_image=s.engine.image(['v2', 'v3'][i % 2]), cutover_lock_wait=300,
            cutover_health=dict(path='/health', interval=0.2), cutover_drain_timeout=1)))
    codes = [p.wait(400) for p in procs]
    assert codes == [0] * 10
    state = s.state()
    numbers = [h['number'] for h in state['history']]
    assert sorted(numbers) == list(range(1, len(numbers) + 1)) and len(numbers) >= 2
    assert all(h['outcome'] == 'succeeded' for h in state['history']), state['history']
    assert s.running() == [state['live']['container']]
    assert s.route() == state['live']['upstream']
    assert not (s.state_dir / ('%s.lock' % s.service)).exists()


def shared_proxy(kind, tmp):
    """Options for one proxy process that several services share (the same folders and sockets)."""
    if kind == 'haproxy':
        return dict(type='haproxy', config_dir=str(tmp / 'haproxy'), admin_socket=str(tmp / 'run' / 'admin.sock'),
                    state_file=str(tmp / 'state' / 'hp-state'), image='cutover-haproxy:local')
    if kind == 'caddy':
        return dict(type='caddy', admin_url='unix/%s' % (tmp / 'caddy-run' / 'admin.sock'), caddy_dir=str(tmp / 'caddy'))
    return dict(type='nginx', conf=str(tmp / 'nginx' / 'nginx.conf'), upstream_dir=str(tmp / 'nginx' / 'upstreams'),
                pid_file=str(tmp / 'nginx-run' / 'nginx.pid'))


def stop_shared_proxy(kind, tmp):
    if kind == 'haproxy':
        remove_proxy_containers(tmp / 'haproxy')
        pid_file = tmp / 'run' / 'haproxy.pid'
    elif kind == 'caddy':
        subprocess.run(['pkill', '-f', str(tmp / 'caddy')], check=False)
        return
    else:
        pid_file = tmp / 'nginx-run' / 'nginx.pid'
    if pid_file.exists():
        subprocess.run(['kill'] + pid_file.read_text().split(), check=False)


@pytest.mark.parametrize('kind', ['haproxy', 'caddy', 'nginx'])
def test_two_services_on_one_proxy_deploy_at_once(kind, docker_engine, tmp_path):
    import uuid
    names = ['t%s' % uuid.uuid4().hex[:8] for dummy in range(2)]
    sites = []
    try:
        for name in names:
            site = Site(docker_engine, name, tmp_path)
            site.proxy = dict(shared_proxy(kind, tmp_path), listen='127.0.0.1:%d' % site.port)
            site.vars['cutover_proxy'] = site.proxy
            sites.append(site)
            assert_ok(site.deploy('v1'))
        with Load('127.0.0.1', sites[0].port, workers=2, keepalive=False, max_requests=40000, max_seconds=120, rate=TEST_RATE) as load:
            load.wait_for(50)
            procs = []
            for i, site in enumerate(sites):
                record = tmp_path / ('s%d.jsonl' % i)
                record.touch()
                procs.append(start_playbook(DEPLOY, record, dict(site.vars, cutover_image=docker_engine.image('v2'))))
            assert [p.wait(240) for p in procs] == [0, 0]
            load.wait_for(50)
        for site in sites:
            assert get_body(site.port) == 'demoapp v2'
            assert site.state()['live']['container'] in site.running()
        if kind == 'haproxy':
            assert load.summary()['failed'] == 0, load.summary()
            for site in sites:
                assert site.route() == site.state()['live']['upstream']
    finally:
        stop_shared_proxy(kind, tmp_path)
        for name in names:
            for c in docker_engine.containers(name):
                c.remove(force=True)


def test_caddy_admin_api_is_a_root_only_unix_socket(docker_engine, service, tmp_path):
    site = Site(docker_engine, service, tmp_path)
    run_dir = tmp_path / 'caddy-admin'
    site.vars['cutover_proxy'] = dict(type='caddy', listen='127.0.0.1:%d' % site.port, caddy_dir=str(tmp_path / 'caddy'),
                                      admin_url='unix/%s' % (run_dir / 'admin.sock'))
    try:
        assert_ok(site.deploy('v1'))
        assert get_body(site.port) == 'demoapp v1'
        assert (run_dir / 'admin.sock').is_socket()
        assert oct(run_dir.stat().st_mode & 0o777) == '0o700'
        listening = Path('/proc/net/tcp').read_text()
        assert ':07E3 ' not in listening  # nothing on port 2019
    finally:
        subprocess.run(['pkill', '-f', str(tmp_path / 'caddy')], check=False)


def test_after_a_failed_deploy_rollback_starts_the_last_good_kept_container(docker_site):
    s = docker_site
    assert_ok(s.deploy('v1'))
    assert_ok(s.deploy('v2'))
    kept_v1 = [c.name for c in s.containers() if c.status != 'running']
    failed = s.deploy('v3', cutover_public_env={'HEALTHY': '0'}, cutover_health=dict(path='/health', timeout=3, interval=0.3))
    assert failed.rc != 0
    assert [c.name for c in s.containers() if c.status != 'running'] == kept_v1
    rollback = run_playbook(ROLLBACK, s.vars)
    assert_ok(rollback)
    started = rollback.task('Start green beside the live container')['result']
    assert started['actions'] == ['start %s' % kept_v1[0]], started['actions']
    assert get_body(s.port) == 'demoapp v1'


def snapshot(site):
    state_file = site.state_dir / ('%s.json' % site.service)
    return (state_file.read_text() if state_file.exists() else None,
            sorted((c.name, c.status) for c in site.engine.containers(site.service)), site.route())


def test_check_diff_on_every_path_exits_0_and_changes_nothing(docker_site):
    s = docker_site
    image = s.engine.image

    def check(playbook, **extra):
        before = snapshot(s)
        run = run_playbook(playbook, dict(s.vars, cutover_image=image(extra.pop('tag', 'v1')), **extra),
                           check=True, diff=True)
        assert_ok(run)
        assert snapshot(s) == before
        return run

    assert_ok(s.deploy('v1'))
    check(DEPLOY, tag='v1')                                # the live release
    check(DEPLOY, tag='v2')                                # a new release
    assert_ok(s.deploy('v2'))
    kept = check(DEPLOY, tag='v1')                         # the release kept stopped for rollback
    assert 'start ' in ' '.join(kept.task('Start green beside the live container')['result']['actions'])
    check(DEPLOY, tag='v3', cutover_strategy='recreate')   # recreate
    check(ROLLBACK)                                        # rollback to the kept release


def test_recreate_killed_at_each_step_the_next_run_converges(docker_site, tmp_path):
    s = docker_site
    assert_ok(s.deploy('v1', cutover_strategy='recreate'))
    tags = ['v2', 'v3']
    for i, step in enumerate(RECREATE_STEPS):
        record = tmp_path / ('kill-%d.jsonl' % i)
        record.touch()
        proc = start_playbook(DEPLOY, record, dict(s.vars, cutover_image=s.engine.image(tags[i % 2]),
                                                   cutover_strategy='recreate'))
        killed = wait_record(record, step, status='ok') or wait_record(record, step, timeout=1)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        assert killed, 'the play never reached %r' % step

        assert_status_converges(s, step)
    final = s.deploy('v1', cutover_strategy='recreate')
    assert_ok(final)
    assert get_body(s.port) == 'demoapp v1'


def test_lock_file_record_is_a_lease_with_the_boot_id(docker_site, tmp_path):
    s = docker_site
    assert_ok(s.deploy('v1'))
    record = tmp_path / 'd.jsonl'
    record.touch()
    proc = start_playbook(DEPLOY, record, dict(s.vars, cutover_image=s.engine.image('v2'),
                                               cutover_public_env={'BOOT_DELAY': '3'}))
    assert wait_record(record, 'Gate the new container on health', status='start')
    holder = json.loads((s.state_dir / ('%s.lock' % s.service)).read_text())
    assert proc.wait(120) == 0
    assert holder['boot_id'] == Path('/proc/sys/kernel/random/boot_id').read_text().strip()
    assert holder['renewed'] > holder['since'] and holder['expires'] == holder['renewed'] + holder['lease']
    assert Path('/proc/%d/cmdline' % holder['process'][0]).exists() is False  # the play that held it is gone


def test_host_haproxy_drops_root(docker_site):
    s = docker_site
    assert_ok(s.deploy('v1', cutover_proxy=dict(s.proxy, runtime='host')))  # the unsupervised host process
    pid = int((Path(s.proxy['admin_socket']).parent / 'haproxy.pid').read_text().split()[0])
    uid_line = next(ln for ln in Path('/proc/%d/status' % pid).read_text().splitlines() if ln.startswith('Uid:'))
    assert uid_line.split()[1:] != ['0', '0', '0', '0'], uid_line  # runs as Debian's haproxy user
    assert get_body(s.port) == 'demoapp v1'


def test_interrupted_during_the_gate_the_deploy_is_cancelled(docker_site, tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it), then SIGTERM, of ansible-playbook while green
    is gated, with the cutover.deploy.cancel callback enabled (as the README asks, and as the tests' environment
    does): before the run exits, green is removed, v1 serves on with no failed request, the release is
    recorded as cancelled, the lock is gone, and the next deploy proceeds at once. A second Ctrl-C while the
    cancel play runs changes none of that. The SIGTERM round runs a playbook of the user's own with a setting in
    group_vars/ beside it (the metrics file), which the cancel play, run in its place, must use too."""
    s = docker_site
    assert_ok(s.deploy('v1'))
    v1 = s.state()['live']['container']
    own = tmp_path / 'site'
    (own / 'group_vars').mkdir(parents=True)
    # a play of the user's own applying the role (ansible loads group_vars beside a playbook for its own plays,
    # never for a collection's playbook it imports)
    (own / 'deploy.yml').write_text('- hosts: all\n  gather_facts: false\n  roles: [cutover.deploy.deploy]\n')
    beside = tmp_path / 'beside' / 'cutover.prom'
    (own / 'group_vars' / 'all.yml').write_text('cutover_metrics_file: %s\n' % beside)
    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=40000, max_seconds=90, rate=TEST_RATE) as load:
        load.wait_for(50)
        for signum, playbook in ((signal.SIGINT, DEPLOY), (signal.SIGTERM, own / 'deploy.yml')):
            record, log = tmp_path / ('%s.jsonl' % signum.name), tmp_path / ('%s.log' % signum.name)
            record.touch()
            with log.open('w') as out:
                deploy = start_playbook(playbook, record, dict(s.vars, cutover_image=s.engine.image('v2'),
                                                               cutover_public_env={'BOOT_DELAY': '60'}), log=out)
                assert wait_record(record, 'Gate the new container on health', status='start')
                assert len([c for c in s.running() if c != v1]) == 1, s.running()
                if signum == signal.SIGINT:
                    os.killpg(deploy.pid, signum)
                    assert wait_record(record, 'Carry on as the interrupted run (its run id holds its deploy lock)')
                    os.killpg(deploy.pid, signum)  # impatient: a second Ctrl-C while the cancel play runs
                else:
                    deploy.send_signal(signum)
                rc = deploy.wait(120)
            output = log.read_text()
            assert rc != 0, output[-3000:]
            assert '%s received; cancelling the run on localhost' % signum.name in output, output[-3000:]
            assert s.running() == [v1], signum
            assert s.route() == s.state()['live']['upstream'] and get_body(s.port) == 'demoapp v1'
            assert s.state()['history'][-1]['outcome'] == 'cancelled', s.state()['history']
            assert not (s.state_dir / ('%s.lock' % s.service)).exists()
        # the cancel play wrote the metrics where group_vars beside the user's playbook put them
        assert 'outcome="cancelled"' in beside.read_text(), beside.read_text()
        load.wait_for(50)
    assert load.summary()['failed'] == 0, load.summary()
    assert_ok(s.deploy('v2', cutover_lock_wait=0))
    assert get_body(s.port) == 'demoapp v2'
    assert [h['outcome'] for h in s.state()['history']] == ['succeeded', 'cancelled', 'cancelled', 'succeeded']


def test_an_unsupervised_haproxy_moves_to_its_container_in_a_deploy_under_load(docker_site):
    """A host without systemd that runs the unsupervised HAProxy of an older release (runtime host, the default
    there before) moves to the proxy container in an ordinary deploy: the container takes the listening sockets
    over (-x) and the old process finishes its connections (soft stop). Not one request fails, keep-alive or new."""
    s = docker_site
    assert_ok(s.deploy('v1', cutover_proxy=dict(s.proxy, runtime='host')))
    old = [int(p) for p in (Path(s.proxy['admin_socket']).parent / 'haproxy.pid').read_text().split()]
    assert old and all(Path('/proc/%d' % p).exists() for p in old)
    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=40000, max_seconds=90, rate=TEST_RATE) as kept, \
            Load('127.0.0.1', s.port, workers=2, keepalive=False, max_requests=40000, max_seconds=90, rate=TEST_RATE) as new:
        kept.wait_for(50)
        new.wait_for(50)
        moved = s.deploy('v2')
        assert_ok(moved)
        assert wait_served(s.port, 'demoapp v2', 10) is not None
        kept.wait_for(kept.summary()['requests'] + 50)
    supervision = moved.task('Take the deploy lock, ensure the proxy route and converge what an interrupted run '
                             'left behind')['result']['supervision']
    assert supervision['runtime'] == 'container' and supervision['running'], supervision
    for load in (kept, new):
        summary = load.summary()
        assert summary['failed'] == 0 and summary['requests'] > 100, (summary['errors'], summary)
        assert {'v1', 'v2'} <= set(summary['versions']), summary
    end = time.monotonic() + 30  # the old process finishes the connections it holds, then exits
    while any(Path('/proc/%d' % p).exists() for p in old) and time.monotonic() < end:
        time.sleep(0.2)
    assert not any(Path('/proc/%d' % p).exists() and 'haproxy' in Path('/proc/%d/cmdline' % p).read_text() for p in old)
    logs = s.engine.client.containers.get(supervision['container']).logs().decode('utf-8', 'replace')
    assert 'Failed to get the sockets' not in logs, logs[-2000:]  # it took them over from the old process
