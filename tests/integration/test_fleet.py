"""Fleet rollouts over real SSH: three app hosts (Docker, Podman, Docker), each a network namespace
with its own engine and sshd, behind one HAProxy on a load-balancer host (scripts/fleet.sh).
Load goes through the load balancer's address on the fleet's own bridge (10.231.0.10), bounded in
requests and time, from clients that never retry."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import yaml

from bench.loadgen import Load
from tests.helpers import REPO, TEST_RATE, run_playbook

DEPLOY = REPO / 'playbooks' / 'deploy.yml'
STATUS = REPO / 'playbooks' / 'status.yml'
FLEET = REPO / 'scripts' / 'fleet.sh'
FLEET_DIR = '/var/lib/cutover-fleet'
LB = '10.231.0.10'
APPS = ['app1', 'app2', 'app3']


@pytest.fixture(scope='module')
def fleet():
    """The fleet, brought up once for this module's tests and taken down after them."""
    subprocess.run(['bash', str(FLEET), 'up', 'docker', 'podman', 'docker'], check=True, capture_output=True,
                   timeout=300)
    with open('%s/inventory.yml' % FLEET_DIR) as f:
        inventory = yaml.safe_load(f)
    yield inventory
    subprocess.run(['bash', str(FLEET), 'down'], check=False, capture_output=True, timeout=300)


_ports = iter(range(8100, 8200))


class Rollout:
    """One service on the fleet: its inventory (the fleet's plus per-host vars) and its deploys."""

    def __init__(self, fleet, service, tmp, shared=True, host_vars=None):
        self.service = service
        self.port = next(_ports)
        inventory = json.loads(json.dumps(fleet))
        group_vars = inventory['all'].setdefault('vars', {})
        group_vars.update(cutover_service=service, cutover_container_port=8080, cutover_stop_timeout=2,
                          cutover_drain_timeout=5, cutover_health=dict(path='/health', interval=0.3),
                          cutover_gate_timeout=6)
        if shared:
            # runtime host: the LB host of this fleet runs no engine, and the namespaces share one filesystem, so
            # the app hosts' engine sockets (whose paths the LB's delegated tasks are given) are visible there too
            group_vars['cutover_proxy'] = dict(
                host='lb', listen='%s:%d' % (LB, self.port), config_dir='%s/lb/haproxy' % FLEET_DIR,
                admin_socket='/run/cutover-fleet/lb/haproxy/admin.sock', state_file='%s/lb/hp/state' % FLEET_DIR,
                runtime='host')
        else:  # every app host runs its own HAProxy on its own address
            for name, hv in inventory['all']['children']['app']['hosts'].items():
                hv['cutover_proxy'] = dict(listen='%s:%d' % (hv['ansible_host'], self.port),
                                           config_dir='%s/%s/haproxy' % (FLEET_DIR, name),
                                           admin_socket='/run/cutover-fleet/%s/haproxy/admin.sock' % name,
                                           state_file='%s/%s/hp/state' % (FLEET_DIR, name),
                                           image='{{ cutover_image_prefix }}cutover-haproxy:local')
        for name, extra in (host_vars or {}).items():
            inventory['all']['children']['app']['hosts'][name].update(extra)
        self.inventory = tmp / 'inventory.json'
        self.inventory.write_text(json.dumps(inventory))

    def deploy(self, tag, **extra):
        v = dict(cutover_hosts='app')
        if tag:  # None: the extra vars name a cutover_source instead
            v['cutover_image'] = '{{ cutover_image_prefix }}demoapp:%s' % tag
        v.update(extra)
        return run_playbook(DEPLOY, v, inventory=self.inventory)

    def status(self):
        return run_playbook(STATUS, dict(cutover_hosts='app'), inventory=self.inventory)

    def state(self, host):
        with open('%s/%s/cutover/%s.json' % (FLEET_DIR, host, self.service)) as f:
            return json.load(f)

    def live_images(self):
        return {h: (self.state(h).get('live') or {}).get('image') for h in APPS}

    def under_load(self, tag, **extra):
        """A deploy with a keep-alive and a new-connection load through the load balancer."""
        with Load(LB, self.port, workers=2, keepalive=True, max_seconds=240, rate=TEST_RATE) as ka, \
                Load(LB, self.port, workers=2, keepalive=False, rate=20, max_seconds=240) as nc:
            ka.wait_for(20)
            run = self.deploy(tag, **extra)
            time.sleep(0.5)
        return run, ka.summary(), nc.summary()


def image(host, tag):
    return ('localhost/' if host == 'app2' else '') + 'demoapp:' + tag


def said(run):
    return ' '.join((run.stdout + run.stderr).split())


def fleet_lines(run):
    return next(r['result']['msg'] for r in run.results if r['status'] == 'ok' and r['task'].startswith('Show the fleet'))


def test_rolling_deploy_behind_a_shared_load_balancer(fleet, service, tmp_path):
    rollout = Rollout(fleet, service, tmp_path)
    first = rollout.deploy('v1')
    assert first.rc == 0, said(first)[-3000:]
    assert rollout.live_images() == {h: image(h, 'v1') for h in APPS}

    run, keepalive, newconn = rollout.under_load('v2', cutover_serial=1)
    assert run.rc == 0, said(run)[-3000:]
    assert keepalive['failed'] == 0 and newconn['failed'] == 0, (keepalive, newconn)
    assert set(keepalive['versions']) == {'v1', 'v2'}
    assert rollout.live_images() == {h: image(h, 'v2') for h in APPS}
    rollouts = {h: rollout.state(h)['history'][-1]['rollout'] for h in APPS}
    assert len(set(rollouts.values())) == 1 and None not in rollouts.values(), rollouts
    # each batch was one host: the hosts went one after another
    started = [rollout.state(h)['history'][-1]['started'] for h in APPS]
    assert started == sorted(started) and len(set(started)) == 3

    # all three in one batch: their swaps on the one load balancer run at once, serialized by its proxy lock
    run, keepalive, newconn = rollout.under_load('v3')
    assert run.rc == 0, said(run)[-3000:]
    assert keepalive['failed'] == 0 and newconn['failed'] == 0, (keepalive, newconn)
    assert rollout.live_images() == {h: image(h, 'v3') for h in APPS}
    rollout_id = rollout.state('app1')['history'][-1]['rollout']
    assert rollout_id != rollouts['app1']

    status = rollout.status()
    assert status.rc == 0
    lines = fleet_lines(status)
    assert not any(line.startswith('DRIFT') for line in lines), lines
    assert 'newest rollout %s reached app1, app2, app3; not reached: none' % rollout_id in lines


def test_a_release_that_never_gets_healthy_stops_at_the_first_host(fleet, service, tmp_path):
    rollout = Rollout(fleet, service, tmp_path)
    assert rollout.deploy('v2').rc == 0
    before = {h: len(rollout.state(h)['history']) for h in APPS}

    run, keepalive, newconn = rollout.under_load('v3', cutover_serial=1, cutover_max_fail_percentage=0,
                                                 cutover_public_env={'HEALTHY': '0'})
    assert run.rc != 0
    assert keepalive['failed'] == 0 and newconn['failed'] == 0, (keepalive, newconn)
    assert set(keepalive['versions']) == {'v2'}
    message = said(run)
    assert 'failed app1:' in message and 'health gate failed' in message, message[-3000:]
    assert 'not attempted app2' in message and 'not attempted app3' in message
    assert rollout.live_images() == {h: image(h, 'v2') for h in APPS}
    assert rollout.state('app1')['history'][-1]['outcome'] == 'failed'
    assert {h: len(rollout.state(h)['history']) for h in ('app2', 'app3')} == {h: before[h] for h in ('app2', 'app3')}


def test_failure_action_rollback_returns_the_moved_hosts(fleet, service, tmp_path):
    """app2's v3 never gets healthy (a per-host setting): app1 moved in the first batch goes back."""
    rollout = Rollout(fleet, service, tmp_path, host_vars={'app2': {'cutover_public_env': {'HEALTHY': '0'}}})
    assert rollout.deploy('v2', cutover_public_env={}).rc == 0  # extra vars beat host vars: v2 healthy everywhere

    run, keepalive, newconn = rollout.under_load('v3', cutover_serial=1, cutover_failure_action='rollback')
    assert run.rc != 0
    assert keepalive['failed'] == 0 and newconn['failed'] == 0, (keepalive, newconn)
    assert rollout.live_images() == {h: image(h, 'v2') for h in APPS}
    app1 = rollout.state('app1')['history']
    assert [h['kind'] for h in app1[-2:]] == ['deploy', 'rollback'] and app1[-2]['outcome'] == 'rolled_back'
    assert 'failed app2:' in said(run) and 'rolled back' in said(run)
    assert len(rollout.state('app3')['history']) == 1  # never touched


def test_a_watch_that_fails_on_one_host_swaps_it_back_and_rolls_the_rollout_back(fleet, service, tmp_path):
    """app2's v3 answers 500 everywhere but /health (a per-host setting): it passes its gate, its watch on the shared
    load balancer sees its member fail under the load and swaps it back by itself; failure_action rollback then
    returns app1."""
    rollout = Rollout(fleet, service, tmp_path, host_vars={'app2': {'cutover_public_env': {'FAIL_EVERY': '1'}}})
    assert rollout.deploy('v2', cutover_public_env={}).rc == 0  # extra vars beat host vars: v2 good everywhere

    watch = dict(seconds=15, min_requests=5)
    run, keepalive, newconn = rollout.under_load('v3', cutover_serial=1, cutover_failure_action='rollback',
                                                 cutover_watch=watch)
    assert run.rc != 0
    assert 'failed app2:' in said(run) and 'failed its watch' in said(run), said(run)[-3000:]
    assert rollout.live_images() == {h: image(h, 'v2') for h in APPS}
    app2 = rollout.state('app2')['history'][-1]
    assert app2['outcome'] == 'rolled_back' and 'success rate' in app2['reason'], app2
    app1 = rollout.state('app1')['history']
    assert [h['kind'] for h in app1[-2:]] == ['deploy', 'rollback'] and app1[-2]['outcome'] == 'rolled_back', app1[-2:]
    assert len(rollout.state('app3')['history']) == 1  # never touched
    # the clients saw app2's 500s of its watch window only, never a connection error
    for summary in (keepalive, newconn):
        assert set(summary['errors']) <= {'HTTP 500'}, summary
    print('fleet watch: keep-alive %d failed of %d, new connections %d failed of %d'
          % (keepalive['failed'], keepalive['requests'], newconn['failed'], newconn['requests']))


def test_an_unreachable_host_counts_as_failed_and_status_shows_the_drift(fleet, service, tmp_path):
    rollout = Rollout(fleet, service, tmp_path)
    assert rollout.deploy('v1').rc == 0
    subprocess.run(['bash', str(FLEET), 'ssh-stop', 'app2'], check=True)
    try:
        # one of three hosts failing is 33 %: within 50 %, the rollout goes on to app3
        run = rollout.deploy('v2', cutover_serial=1, cutover_max_fail_percentage=50)
        assert run.rc != 0
        assert 'failed app2: unreachable' in said(run), said(run)[-3000:]
        assert rollout.state('app1')['live']['image'] == image('app1', 'v2')
        assert rollout.state('app3')['live']['image'] == image('app3', 'v2')
    finally:
        subprocess.run(['bash', str(FLEET), 'ssh-start', 'app2'], check=True)
    assert rollout.state('app2')['live']['image'] == image('app2', 'v1')

    status = rollout.status()
    assert status.rc == 0, said(status)[-3000:]
    lines = fleet_lines(status)
    assert any(line.startswith('DRIFT: 2 releases') and 'demoapp:v1 on app2' in line for line in lines), lines
    assert any(line.endswith('not reached: app2') for line in lines), lines


def test_a_host_that_cannot_get_the_image_leaves_its_whole_batch_untouched(fleet, service, tmp_path):
    """One batch of three hosts, and app2 cannot get the image (a tag it does not have, cutover_pull never): it
    fails at the batch's pull, before any host of the batch starts a container, so app1 and app3 are not
    attempted and all three serve v1 on."""
    new = '{{ cutover_image_prefix }}demoapp:v2'
    rollout = Rollout(fleet, service, tmp_path, host_vars={
        'app1': {'cutover_image': new}, 'app3': {'cutover_image': new},
        'app2': {'cutover_image': 'localhost/demoapp:not-there', 'cutover_pull': 'never'}})
    assert rollout.deploy('v1').rc == 0
    run = rollout.deploy(None)
    assert run.rc != 0
    message = said(run)
    assert 'failed app2: image pull:' in message, message[-3000:]
    for host in ('app1', 'app3'):
        assert 'not attempted %s: its batch could not start: app2 failed' % host in message, message[-3000:]
    assert rollout.live_images() == {h: image(h, 'v1') for h in APPS}


def test_per_host_proxies_across_the_fleet(fleet, service, tmp_path):
    """The other topology: each app host's own HAProxy on its own address; a deploy touches each
    host's proxy only."""
    rollout = Rollout(fleet, service, tmp_path, shared=False)
    run = rollout.deploy('v1')
    assert run.rc == 0, said(run)[-3000:]
    for host, hv in fleet['all']['children']['app']['hosts'].items():
        with Load(hv['ansible_host'], rollout.port, workers=1, keepalive=False, max_requests=3, max_seconds=10) as load:
            load.wait_for(3)
        summary = load.summary()
        assert summary['failed'] == 0 and summary['versions'] == {'v1': summary['requests']}, (host, summary)


def test_canary_of_a_build_from_a_private_repository_over_ssh(fleet, service, tmp_path):
    """Each app host builds its image from a bare repository that the LB host serves over SSH (the fleet's
    key as cutover_source.ssh_key, never printed), then runs a canary through the shared load balancer: each
    host's green takes its own share of that host's requests and gets its own analysis, 0 failed requests."""
    from pathlib import Path  # pylint: disable=import-outside-toplevel
    from tests.integration.test_sources import make_repository  # pylint: disable=import-outside-toplevel
    bare, first, _second = make_repository(tmp_path)
    key = Path(FLEET_DIR, 'client_key').read_text()
    rollout = Rollout(fleet, service, tmp_path)
    first_run = rollout.deploy('v1')
    assert first_run.rc == 0, said(first_run)[-3000:]
    source = dict(type='git', repo='ssh://root@%s%s' % (LB, bare), ref='v1', context='app', ssh_key=key,
                  build_args=dict(BASE='{{ cutover_image_prefix }}demoapp:v1'))
    run, keepalive, newconn = rollout.under_load(None, cutover_source=source, cutover_strategy='canary',
                                                 cutover_canary=dict(steps=[20, 50], interval=3, min_requests=1))
    assert run.rc == 0, said(run)[-3000:]
    secret = key.splitlines()[1]
    assert secret not in run.stdout + run.stderr and secret not in json.dumps(run.results)
    analyses = {r['host']: r['result']['steps'] for r in run.results
                if r['task'].endswith('Send green its canary share of requests, step by step, and judge it')
                and r['status'] == 'ok'}
    assert sorted(analyses) == APPS, analyses
    for host, steps in analyses.items():
        assert [(s['weight'], s['passed']) for s in steps] == [(20, True), (50, True)], (host, steps)
        assert all(s['green']['requests'] > 0 for s in steps), (host, steps)
        entry = rollout.state(host)['history'][-1]
        assert (entry['strategy'], entry['outcome'], entry['commit_sha']) == ('canary', 'succeeded', first), entry
    assert keepalive['failed'] == 0 and newconn['failed'] == 0, (keepalive, newconn)
    assert keepalive['versions'].get('git1', 0) > 0, keepalive
