"""Release safety end to end, through playbooks/deploy.yml on real engines and HAProxy, load on loopback only:
the release command (run before green starts; a failure, a timeout or a recreate's failure changes nothing
else) and the watch after the swap (a release that fails under real traffic is swapped back by itself, a good
one is kept)."""

from __future__ import annotations

import json
import subprocess
import time

from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import HAProxy
from bench.loadgen import Load
from tests.proxies import get_body
from tests.sites import ROLLBACK, assert_ok

GREEN = 'Start green beside the live container'
WATCH = 'Watch green under real traffic, with the old release still running to swap back to'
SECRET = 'hunter2-s3cret-value'


def release_command_containers(site):
    """The one-off containers of the site's release commands, any state (none may outlive a deploy)."""
    out = subprocess.run([site.engine.name, 'ps', '-a', '-q', '--filter',
                          'label=io.cutover.release-command-of=%s' % site.service],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def everything_printed(run):
    return run.stdout + run.stderr + json.dumps(run.results)


def test_the_release_command_runs_before_green_and_its_failure_changes_nothing(site, tmp_path):
    s = site
    data = tmp_path / 'data'
    data.mkdir()
    marker = data / 'migrated'
    common = dict(cutover_volumes=['%s:/data' % data], cutover_env={'DB_PASSWORD': SECRET})
    assert_ok(s.deploy('v1', **common))
    v1 = s.state()['live']['container']
    history = len(s.state()['history'])

    # a command that fails: the deploy stops before green starts, v1 serves on, the release is recorded failed
    failed = s.deploy('v2', cutover_release_command='echo "migrating with $DB_PASSWORD"; exit 4', **common)
    assert failed.rc != 0
    assert 'release command exited 4' in failed.stdout and 'migrating with ********' in failed.stdout, failed.stdout[-3000:]
    assert SECRET not in everything_printed(failed)
    assert get_body(s.port) == 'demoapp v1' and s.running() == [v1]
    entry = s.state()['history'][-1]
    assert len(s.state()['history']) == history + 1 and entry['outcome'] == 'failed' and entry['container'] is None
    assert entry['release_command']['exit_code'] == 4 and 'exited 4' in entry['reason'], entry
    assert SECRET not in json.dumps(s.state())
    assert release_command_containers(s) == []

    # a command that reads the service's env and volume: it runs, then green starts and the deploy goes on
    command = 'echo "$VERSION migrated with $DB_PASSWORD" > /data/migrated && echo done with $DB_PASSWORD'
    good = s.deploy('v2', cutover_release_command=command, **common)
    assert_ok(good)
    assert marker.read_text() == 'v2 migrated with %s\n' % SECRET  # the image's env and the secret one
    ran = good.task(GREEN)['result']['release_command']
    assert ran['exit_code'] == 0 and ran['logs'] == ['done with ********'], ran
    assert SECRET not in everything_printed(good)
    assert get_body(s.port) == 'demoapp v2' and release_command_containers(s) == []

    # the release is live: not run again
    marker.unlink()
    again = s.deploy('v2', cutover_release_command=command, **common)
    assert_ok(again)
    assert not marker.exists() and again.task(GREEN)['result']['release_command'] is None

    # past its timeout: killed, the deploy fails, v2 serves on
    v2 = s.state()['live']['container']
    started = time.monotonic()
    slow = s.deploy('v3', cutover_release_command=['sleep', '60'], cutover_release_timeout=2, **common)
    assert slow.rc != 0 and 'past its timeout of 2 s and was killed' in slow.stdout, slow.stdout[-3000:]
    assert time.monotonic() - started < 45
    assert get_body(s.port) == 'demoapp v2' and s.running() == [v2] and release_command_containers(s) == []
    assert s.state()['history'][-1]['outcome'] == 'failed'

    # recreate runs it before the old container stops: a failure leaves the old one serving
    recreate = s.deploy('v3', cutover_strategy='recreate', cutover_release_command='exit 1', **common)
    assert recreate.rc != 0 and 'release command exited 1' in recreate.stdout, recreate.stdout[-3000:]
    assert get_body(s.port) == 'demoapp v2' and s.running() == [v2] and release_command_containers(s) == []
    assert s.state()['history'][-1]['outcome'] == 'failed'


def test_the_watch_swaps_a_failing_release_back_by_itself_and_keeps_a_good_one(docker_site):
    """v2 answers 200 on /health (so it passes the gate and HAProxy's check) and 500 on every other path."""
    s = docker_site
    assert_ok(s.deploy('v1'))
    v1, entry_upstream = s.state()['live']['container'], s.state()['live']['upstream']
    watch = dict(seconds=20, min_requests=20)
    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=20000, max_seconds=90, rate=100) as load:
        load.wait_for(50)
        started = time.monotonic()
        bad = s.deploy('v2', cutover_watch=watch, cutover_public_env={'FAIL_EVERY': '1'})
        seconds = time.monotonic() - started
        load.wait_for(50)
    assert bad.rc != 0 and 'failed its watch' in bad.stdout, bad.stdout[-3000:]
    seen = bad.task(WATCH)['result']['watch']
    assert seen['requests'] >= 20 and seen['success_rate'] < 99 and seen['watched_seconds'] < watch['seconds'], seen
    assert get_body(s.port) == 'demoapp v1' and s.running() == [v1]
    entry = s.state()['history'][-1]
    assert entry['outcome'] == 'rolled_back' and 'success rate' in entry['reason'], entry
    summary = load.summary()
    # the clients saw the new release's failures of the window only: what it answered while watched, plus the
    # few between the last reading and the swap back
    bound = seen['requests'] + 30
    print('watch: swapped back %.2f s after the swap (%.1f s of it watching; deploy %.1f s); clients saw %d failed of %d '
          'requests; the watch counted %d requests, %d errors; bound %d'
          % (seen['since_swap_seconds'], seen['watched_seconds'], seconds, summary['failed'], summary['requests'],
             seen['requests'], seen['errors'], bound))
    assert seen['reverted_to'] == entry_upstream
    assert 0 < summary['failed'] <= bound, (summary, seen)
    assert set(summary['errors']) <= {'HTTP 500'}, summary

    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=20000, max_seconds=60, rate=100) as load:
        load.wait_for(50)
        good = s.deploy('v3', cutover_watch=dict(seconds=4))
        load.wait_for(50)
    assert_ok(good)
    kept = good.task(WATCH)['result']
    assert kept['passed'] and kept['watch']['requests'] > 0 and kept['watch']['errors'] == 0, kept
    assert 'watched: ' in good.stdout
    assert load.summary()['failed'] == 0, load.summary()
    assert get_body(s.port) == 'demoapp v3' and s.state()['history'][-1]['outcome'] == 'succeeded'


def test_replicas_deploy_under_load_and_a_killed_replica_is_taken_out(docker_site):
    """Three containers per release behind HAProxy: v1 then v2 blue-green under keep-alive load with no failed
    request, three running after each, and a replica killed with SIGKILL costs no request (HAProxy sends the
    refused connections to another replica until its check takes the dead one out, and the engine restarts it)."""
    s = docker_site
    assert_ok(s.deploy('v1', cutover_replicas=3))
    v1 = s.state()['live']
    assert len(v1['container'].split(',')) == 3 and len(v1['upstream'].split(',')) == 3, v1
    assert sorted(s.running()) == sorted(v1['container'].split(','))
    assert s.route() == v1['upstream']
    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=40000, max_seconds=120, rate=100) as load:
        load.wait_for(50)
        deployed = s.deploy('v2', cutover_replicas=3)
        load.wait_for(50)
    assert_ok(deployed)
    summary = load.summary()
    print('replicas 3, v1 -> v2 blue-green: %s' % summary)
    assert summary['failed'] == 0, summary
    v2 = s.state()['live']
    assert sorted(s.running()) == sorted(v2['container'].split(',')) and len(s.running()) == 3
    assert s.route() == v2['upstream'] and get_body(s.port) == 'demoapp v2'
    entry = s.state()['history'][-1]
    assert entry['container'] == v2['container'] and entry['outcome'] == 'succeeded'

    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=20000, max_seconds=60, rate=100) as load:
        load.wait_for(50)
        victim = v2['container'].split(',')[1]
        subprocess.run([s.engine.name, 'kill', '-s', 'KILL', victim], check=True, capture_output=True)
        time.sleep(4)  # past HAProxy's check (inter 1s, fall 2)
        load.wait_for(50)
    killed = load.summary()
    print('replicas 3, one killed with SIGKILL: %s' % killed)
    assert killed['failed'] == 0, killed['errors']
    # the release is the same again (the engine restarted the replica on its pinned port): nothing to do
    again = s.deploy('v2', cutover_replicas=3)
    assert_ok(again)
    assert 'already live' in again.stdout and s.state()['live'] == v2


# the first two containers started with this command claim a slot on the shared folder and become healthy; any later one
# never answers /health (a release that goes bad after its first batch)
def wait_all_up(site, upstream, timeout):
    """True once HAProxy reports every server of upstream UP; else their statuses, after timeout seconds."""
    hp = HAProxy(site.proxy['admin_socket'])
    end = time.monotonic() + timeout
    while True:
        statuses = {r.get('addr'): r.get('status') for r in hp.server_stats(site.service).values()
                    if r.get('addr') in upstream.split(',')}
        if len(statuses) == len(upstream.split(',')) and all(v.startswith('UP') for v in statuses.values()):
            return True
        if time.monotonic() > end:
            return statuses
        time.sleep(0.2)


FIRST_TWO_HEALTHY = ['sh', '-c', 'if mkdir /shared/slot1 2>/dev/null || mkdir /shared/slot2 2>/dev/null; '
                                 'then exec /bin/start; else HEALTHY=0 exec /bin/start; fi']


def test_rolling_replaces_replicas_in_gated_batches_and_rolls_back_or_pauses(docker_site, tmp_path):
    s = docker_site
    rolling = dict(cutover_replicas=4, cutover_strategy='rolling', cutover_gate_timeout=4)
    assert_ok(s.deploy('v1', **rolling, cutover_rolling=dict(batch=2)))  # nothing live yet: the batches fill the route
    assert len(s.running()) == 4 and get_body(s.port) == 'demoapp v1'

    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=40000, max_seconds=120, rate=100) as load:
        load.wait_for(50)
        v2 = s.deploy('v2', **rolling, cutover_rolling=dict(batch=2))
        load.wait_for(50)
    assert_ok(v2)
    print('rolling v1 -> v2, 4 replicas in batches of 2: %s' % load.summary())
    assert load.summary()['failed'] == 0, load.summary()['errors']
    assert set(load.summary()['versions']) == {'v1', 'v2'}  # both served while the batches rolled
    live = s.state()['live']
    assert len(s.running()) == 4 and sorted(s.running()) == live['container'].split(',') and s.route() == live['upstream']
    assert s.state()['history'][-1]['strategy'] == 'rolling' and get_body(s.port) == 'demoapp v2'
    assert s.state()['history'][-1]['check']['type'] == 'http'  # a rollback to it can keep HAProxy's check
    swaps = [r for r in v2.results if r['task'].endswith('Give the new replicas the route of as many old ones')
             and r['status'] == 'ok']
    assert len(swaps) == 2, [r['task'] for r in v2.results]  # two batches of two

    # never healthy: stopped after the first batch, rolled back, v2 on all four again
    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=40000, max_seconds=120, rate=100) as load:
        load.wait_for(50)
        bad = s.deploy('v3', **rolling, cutover_rolling=dict(batch=2), cutover_public_env={'HEALTHY': '0'})
        load.wait_for(50)
    assert bad.rc != 0 and 'stopped at batch 1 of 2' in bad.stdout, bad.stdout[-3000:]
    print('rolling v2 -> v3 never healthy, rolled back: %s' % load.summary())
    assert load.summary()['failed'] == 0, load.summary()['errors']
    assert s.state()['live'] == live and sorted(s.running()) == live['container'].split(',') and s.route() == live['upstream']
    assert s.state()['history'][-1]['outcome'] == 'failed' and get_body(s.port) == 'demoapp v2'

    # bad after its first batch, with pause: the first batch serves beside the two v2 replicas not replaced yet
    shared = tmp_path / 'shared'
    shared.mkdir()
    paused = s.deploy('v3', **rolling, cutover_rolling=dict(batch=2, failure_action='pause'), cutover_command=FIRST_TWO_HEALTHY,
                      cutover_volumes=['%s:/shared' % shared])
    assert paused.rc != 0 and 'stopped at batch 2 of 2' in paused.stdout and 'Paused' in paused.stdout, paused.stdout[-3000:]
    mix = s.state()['live']
    entry = s.state()['history'][-1]
    assert entry['outcome'] == 'paused' and entry['number'] == mix['number'], entry
    assert len(mix['container'].split(',')) == 4 and s.route() == mix['upstream'] and sorted(s.running()) == mix['container'].split(',')
    bodies = {get_body(s.port) for _i in range(40)}
    assert bodies == {'demoapp v2', 'demoapp v3'}, bodies
    # status leaves the paused mix as it is
    from tests.sites import STATUS  # pylint: disable=import-outside-toplevel
    from tests.helpers import run_playbook  # pylint: disable=import-outside-toplevel
    assert_ok(run_playbook(STATUS, s.vars))
    assert s.state()['live'] == mix and s.route() == mix['upstream']
    # a rollback returns every replica to v2
    assert_ok(s.deploy(None, playbook=ROLLBACK))
    assert s.state()['live']['container'] == live['container'] and s.route() == live['upstream']
    assert {get_body(s.port) for _i in range(20)} == {'demoapp v2'} and sorted(s.running()) == live['container'].split(',')

    # every v2 replica passes HAProxy's check (kept at the health path through the rollback, with no reload, so the
    # canary below re-weighs servers of a process that has already moved them around): the shares count on all four
    assert wait_all_up(s, live['upstream'], 10) is True

    # a canary weighs the new replicas together against the live ones, then swaps them all in
    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=20000, max_seconds=60, rate=100) as load:
        load.wait_for(50)
        canary = s.deploy('v3', cutover_replicas=3, cutover_strategy='canary',
                          cutover_canary=dict(steps=[30], interval=4, min_requests=5))
        load.wait_for(50)
    assert_ok(canary)
    step = canary.task('Send green its canary share of requests, step by step, and judge it')['result']['steps'][0]
    share = step['green']['requests'] / float(step['green']['requests'] + step['blue']['requests'])
    print('replicas 3, canary at 30 %%: green took %.2f of the step\'s requests; %s' % (share, load.summary()))
    # 0.30 exactly in HAProxy's round robin; 0.36 or 0.46 is one or two blue servers left with no requests (a blue
    # weight lowered before green's was raised; _canary.weight_changes)
    assert step['passed'] and 0.25 < share < 0.34, json.dumps(step)
    assert load.summary()['failed'] == 0, load.summary()['errors']
    assert len(s.running()) == 3 and get_body(s.port) == 'demoapp v3' and s.route() == s.state()['live']['upstream']
