"""End to end: playbooks/deploy.yml, rollback.yml and status.yml through ansible-playbook on localhost,
with a real Docker Engine / Podman and a real HAProxy (started by the proxy role), under bounded
non-retrying load on loopback."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import HAProxy
from bench.loadgen import Load
from tests.helpers import TEST_RATE, host_module_runs, read_records, run_playbook, start_playbook
from tests.proxies import get_body
from tests.sites import DEPLOY, ROLLBACK, STATUS, assert_ok, assert_status_converges


def steps_run(run):
    """The names of the Cutover steps a run ran (for a failure's message)."""
    return [r['task'] for r in run.results if r['status'] in ('ok', 'failed') and (r.get('action') or '').startswith('cutover.deploy.')]


def haproxy_service_file(site):
    return (Path(site.proxy['config_dir']) / ('service-%s.cfg' % site.service)).read_text()


BATCH_PULL = 'Have the image on every host of the batch before any host starts it'


def test_blue_green_under_load_drops_nothing(site):
    assert_ok(site.deploy('v1'))
    assert get_body(site.port) == 'demoapp v1'
    with Load('127.0.0.1', site.port, workers=2, keepalive=True, max_requests=40000, max_seconds=90, rate=TEST_RATE) as keep, \
            Load('127.0.0.1', site.port, workers=2, keepalive=False, max_requests=40000, max_seconds=90, rate=TEST_RATE) as fresh:
        keep.wait_for(100)
        fresh.wait_for(100)
        run = site.deploy('v2', cutover_public_env={'BOOT_DELAY': '1'})
        keep.wait_for(100)
        fresh.wait_for(100)
    assert_ok(run)
    for load in (keep, fresh):
        s = load.summary()
        assert s['failed'] == 0, s
        assert s['versions'].get('v1', 0) > 0 and s['versions'].get('v2', 0) > 0, s
    state = site.state()
    assert state['live']['container'] == site.running()[0] and len(site.running()) == 1
    assert site.route() == state['live']['upstream']
    assert [h['outcome'] for h in state['history']] == ['succeeded', 'succeeded']

    again = site.deploy('v2', cutover_public_env={'BOOT_DELAY': '1'})
    assert_ok(again)
    assert again.changed == [], [r['task'] for r in again.changed]
    assert len(site.state()['history']) == 2
    # one host, one batch: green pulls, and the deploy is five module runs on the host
    assert run.task(BATCH_PULL)['status'] == 'skipped' and host_module_runs(run) == 5


def test_check_mode_touches_nothing(docker_site):
    fresh = run_playbook(DEPLOY, dict(docker_site.vars, cutover_image=docker_site.engine.image('v1')), check=True)
    assert_ok(fresh)  # a host never deployed to, its proxy not even started
    assert docker_site.engine.containers(docker_site.service) == [] and docker_site.state() == {}
    assert not (docker_site.state_dir / ('%s.lock' % docker_site.service)).exists()
    assert not (docker_site.state_dir / 'metrics').exists()
    assert_ok(docker_site.deploy('v1'))
    before = (docker_site.state(), docker_site.running(), docker_site.route())
    v = dict(docker_site.vars, cutover_image=docker_site.engine.image('v2'))
    run = run_playbook(DEPLOY, v, check=True, diff=True)
    assert_ok(run)
    assert (docker_site.state(), docker_site.running(), docker_site.route()) == before


def test_recreate_reports_its_downtime(docker_site):
    assert_ok(docker_site.deploy('v1', cutover_strategy='recreate'))
    run = docker_site.deploy('v2', cutover_strategy='recreate')
    assert_ok(run)
    assert run.task(BATCH_PULL)['status'] == 'ok'  # the image is there before the old container stops
    for step in ('Find out whether this release already runs', 'Start the new container'):  # the state it reads
        assert run.task(step)['result']['invocation']['module_args']['state_dir'] == str(docker_site.state_dir), step
    assert 'had no container ready for' in run.task('Report')['result']['msg']
    assert get_body(docker_site.port) == 'demoapp v2'
    state = docker_site.state()
    assert [h['strategy'] for h in state['history']] == ['recreate', 'recreate']
    # the check HAProxy runs once it is live, so a rollback to it can keep it
    assert state['history'][-1]['check'] == dict(type='http', path='/health', status=[200])
    assert docker_site.running() == [state['live']['container']]


def test_failed_recreate_brings_the_old_container_back(docker_site):
    s = docker_site
    assert_ok(s.deploy('v1', cutover_strategy='recreate'))
    v1 = s.state()['live']['container']
    run = s.deploy('v2', cutover_strategy='recreate', cutover_public_env={'HEALTHY': '0'},
                   cutover_health=dict(path='/health', timeout=3))
    assert run.rc != 0 and 'was started again' in run.task('Stop the deploy')['result']['msg']
    state = s.state()
    assert s.running() == [v1] and state['live']['container'] == v1
    assert s.route() == state['live']['upstream']  # the restarted container's new port is routed
    assert get_body(s.port) == 'demoapp v1'
    assert [h['outcome'] for h in state['history']] == ['succeeded', 'failed']


def test_exclusive_volumes_force_recreate_and_reject_blue_green(docker_site):
    run = docker_site.deploy('v1', cutover_exclusive_volumes=True)
    assert_ok(run)
    assert docker_site.state()['history'][0]['strategy'] == 'recreate'
    bad = docker_site.deploy('v2', cutover_exclusive_volumes=True, cutover_strategy='blue-green')
    assert bad.rc != 0 and 'exclusive_volumes' in bad.failed[0]['result']['msg']


def test_failed_gate_keeps_v1_serving_under_load(site):
    assert_ok(site.deploy('v1'))
    v1 = site.state()['live']['container']
    with Load('127.0.0.1', site.port, workers=2, keepalive=True, max_requests=30000, max_seconds=60, rate=TEST_RATE) as keep, \
            Load('127.0.0.1', site.port, workers=2, keepalive=False, max_requests=30000, max_seconds=60, rate=TEST_RATE) as fresh:
        keep.wait_for(100)
        run = site.deploy('v2', cutover_public_env={'HEALTHY': '0'}, cutover_health=dict(path='/health', timeout=3))
        keep.wait_for(100)
        fresh.wait_for(100)
    assert run.rc != 0
    msg = run.task('Stop the deploy')['result']['msg']
    assert 'Gate the new container on health' in msg and 'still live and routed' in msg and v1 in msg
    for load in (keep, fresh):
        s = load.summary()
        assert s['failed'] == 0 and set(s['versions']) == {'v1'}, s
    state = site.state()
    assert state['live']['container'] == v1 and site.running() == [v1]
    assert [h['outcome'] for h in state['history']] == ['succeeded', 'failed']
    assert get_body(site.port) == 'demoapp v1'


def test_failed_swap_puts_the_route_back_and_removes_green(docker_site):
    """Force the swap to fail after green passed its gate: HAProxy's idle slot is put in drain (as a
    previous drain still running would leave it), so there is no free slot to swap into."""
    s = docker_site
    assert_ok(s.deploy('v1'))
    v1 = s.state()['live']['container']
    hp = HAProxy(s.proxy['admin_socket'])
    idle = [slot['name'] for slot in hp.slots(s.service) if slot['port'] == 1][0]
    hp.command('set server %s/%s state ready' % (s.service, idle))
    hp.command('set server %s/%s state drain' % (s.service, idle))
    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=30000, max_seconds=60, rate=TEST_RATE) as keep:
        keep.wait_for(100)
        run = s.deploy('v2')
        keep.wait_for(100)
    assert run.rc != 0
    msg = run.task('Stop the deploy')['result']['msg']
    assert 'Swap the route to green' in msg and 'no idle server slot' in msg and v1 in msg
    summary = keep.summary()
    assert summary['failed'] == 0 and set(summary['versions']) == {'v1'}, summary
    assert s.running() == [v1] and s.route() == s.state()['live']['upstream']
    assert [h['outcome'] for h in s.state()['history']] == ['succeeded', 'failed']


def test_a_failed_rollback_keeps_the_stopped_container_it_started(docker_site):
    """A rollback that starts the kept v1 container and fails its gate stops it again and keeps it: it is still
    the rollback target. v2 stays live and routed, and the rollback is recorded failed."""
    s = docker_site
    assert_ok(s.deploy('v1'))
    v1 = s.state()['live']['container']
    assert_ok(s.deploy('v2'))
    run = run_playbook(ROLLBACK, dict(s.vars, cutover_health=dict(path='/missing', interval=0.3), cutover_gate_timeout=3))
    assert run.rc != 0
    assert v1 in [c.name for c in s.engine.containers(s.service)] and v1 not in s.running()
    assert get_body(s.port) == 'demoapp v2'
    assert [(h['kind'], h['outcome']) for h in s.state()['history']][-1] == ('rollback', 'failed')


def test_rollback_from_kept_container_then_from_image(docker_site):
    s = docker_site
    assert_ok(s.deploy('v1'))
    v1 = s.state()['live']['container']
    assert_ok(s.deploy('v2', cutover_health=dict(path='/', interval=0.3)))  # HAProxy's check changes with it
    run = run_playbook(ROLLBACK, s.vars)
    assert_ok(run)
    state = s.state()
    assert state['live']['container'] == v1  # the kept, stopped v1 container was started again
    assert get_body(s.port) == 'demoapp v1'
    assert [(h['kind'], h['outcome']) for h in state['history']] == [
        ('deploy', 'succeeded'), ('deploy', 'rolled_back'), ('rollback', 'succeeded')]
    # v1 was recorded serving under another check than the one HAProxy ran (v2's): held at a TCP connect
    assert state['history'][0]['check']['path'] == '/health' and state['history'][1]['check']['path'] == '/'
    assert run.task("Hold HAProxy's check at a TCP connect, which the release to return to may not answer as it is, for release 1")['status'] == 'ok'
    assert 'httpchk' not in haproxy_service_file(s) and state['history'][2]['check'] == {'type': 'tcp'}

    assert_ok(s.deploy('v3', cutover_keep_releases=0))
    assert len(s.containers()) == 1
    run = run_playbook(ROLLBACK, dict(s.vars, cutover_release='2'))  # v2: its container is gone
    assert_ok(run)
    assert get_body(s.port) == 'demoapp v2'
    assert s.state()['history'][-1]['kind'] == 'rollback'

    # a release the history does not have: refused, naming the ones it has; v2 serves on, and the lock is free
    missing = run_playbook(ROLLBACK, dict(s.vars, cutover_release='99'))
    assert missing.rc != 0, missing.stdout[-2000:]
    assert 'has no release 99 to roll back to (history: [1, 2, 3, 4, 5])' in missing.stdout, missing.stdout[-2000:]
    assert get_body(s.port) == 'demoapp v2' and len(s.state()['history']) == 5

    status = run_playbook('cutover.deploy.status', s.vars)  # the installed collection's playbook, by name
    assert_ok(status)
    table = status.task('Show the releases')['result']['msg']
    assert table[0].startswith('live: ') and len(table) == 2 + 5


def test_standby_rollback_is_one_swap_and_a_later_run_retires_it(docker_site):
    """cutover_standby: after the v2 deploy v1 keeps running, unrouted. A rollback inside the window serves
    v1 again under load with 0 failed requests and no container start; once the window is over, the next
    run stops the standby and keeps it for rollback."""
    s = docker_site
    assert_ok(s.deploy('v1'))
    v1 = s.state()['live']['container']
    assert_ok(s.deploy('v2', cutover_standby=300))
    assert v1 in s.running() and s.state()['standby']['container'] == v1
    started = s.engine.client.containers.get(v1).attrs['State']['StartedAt']
    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=20000, max_seconds=60, rate=TEST_RATE) as load:
        load.wait_for(50)
        run = run_playbook(ROLLBACK, dict(s.vars, cutover_standby=300))
        load.wait_for(50)
    assert_ok(run)
    # three module runs on the host (prepare, swap, reap): no green step, and HAProxy keeps its HTTP check,
    # which v1 was recorded serving under
    assert run.task('Start green beside the live container')['status'] == 'skipped'
    assert host_module_runs(run) == 3, steps_run(run)
    assert 'option httpchk' in haproxy_service_file(s)
    assert s.engine.client.containers.get(v1).attrs['State']['StartedAt'] == started  # no start, no restart
    assert get_body(s.port) == 'demoapp v1' and s.state()['live']['container'] == v1
    history = s.state()['history']
    assert [(h['kind'], h['outcome'], h['container']) for h in history][1:] == [
        ('deploy', 'rolled_back', history[1]['container']), ('rollback', 'succeeded', v1)]
    assert history[2]['image_id'] == history[0]['image_id'] and history[2]['release_id'] == history[0]['release_id']
    assert 'standby' not in s.state()  # v2 was rolled back: no rollback target, so no standby
    assert load.summary()['failed'] == 0, load.summary()

    assert_ok(s.deploy('v3', cutover_standby=1))
    assert s.state()['standby']['container'] == v1 and v1 in s.running()
    time.sleep(1.5)
    again = s.deploy('v3', cutover_standby=1)  # v3 is already live: this run only retires the standby
    assert_ok(again)
    assert again.task('Take the deploy lock, ensure the proxy route and converge what an interrupted run left behind')['result']['plan']['retire'] == [v1]
    assert v1 not in s.running() and v1 in [c.name for c in s.engine.containers(s.service)]
    assert 'standby' not in s.state()


def test_concurrent_deploy_fails_fast_naming_the_holder(docker_site, tmp_path):
    """Both runs share a fact cache, as AWX's fact storage does: the second never takes the first run's id (in the
    cache, it would hold the lock as its own), and the cache keeps no run id and no proxy options."""
    s = docker_site
    cache = dict(ANSIBLE_CACHE_PLUGIN='jsonfile', ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path / 'facts'))
    assert_ok(s.deploy('v1', env=cache))
    record = tmp_path / 'a.jsonl'
    record.touch()
    first = start_playbook(DEPLOY, record, dict(s.vars, cutover_image=s.engine.image("v2"),
                                                cutover_public_env={'BOOT_DELAY': '4'}), env=cache)
    lock = s.state_dir / ('%s.lock' % s.service)
    end = time.monotonic() + 30
    while not lock.exists() and time.monotonic() < end:
        time.sleep(0.05)
    second = s.deploy('v3', env=cache)
    assert second.rc != 0, [(r['task'], r['status'], round(r['time'], 2)) for r in read_records(record)] + [
        (r['task'], r['status'], round(r['time'], 2)) for r in second.results]
    msg = second.failed[0]['result']['msg']
    assert 'holds the lock' in msg and 'since' in msg and 'cutover_lock_wait' in msg
    waited = s.deploy('v3', cutover_lock_wait=60)
    assert first.wait(60) == 0
    assert_ok(waited)
    assert get_body(s.port) == 'demoapp v3'
    assert not lock.exists()
    rollouts = [entry['rollout'] for entry in s.state()['history']]
    assert len(set(rollouts)) == len(rollouts) == 3, rollouts
    cached = [json.loads(path.read_text()) for path in (tmp_path / 'facts').iterdir()]
    cached = [json.loads(facts['__payload__']) if '__payload__' in facts else facts for facts in cached]  # 2.19 wraps them
    assert cached and all('_cutover_route' in facts for facts in cached), cached
    assert not [name for facts in cached for name in facts if name in ('_cutover_run_id', '_cutover_rollout_id', '_cutover_proxy')]


def test_stale_lock_is_broken_with_a_warning(docker_site):
    s = docker_site
    s.state_dir.mkdir(parents=True, exist_ok=True)
    (s.state_dir / ('%s.lock' % s.service)).write_text(json.dumps(dict(
        run_id='dead-run', holder='someone via elsewhere', since=time.time() - 60, process=[999999, '1'])))
    run = s.deploy('v1')
    assert_ok(run)
    assert 'breaking the stale deploy lock' in run.stderr + run.stdout


def kill_after(step, playbook, extra_vars, record, timeout=120):
    """Start the playbook and SIGKILL its whole process group as soon as `step` has ended."""
    record.touch()
    proc = start_playbook(playbook, record, extra_vars)
    end = time.monotonic() + timeout
    killed = False
    while time.monotonic() < end and proc.poll() is None:
        if any(r['status'] != 'start' and r['task'].endswith(step) for r in read_records(record)):
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.01)
    proc.wait(30)
    assert killed, 'the play ended before %r' % step


def test_a_release_deployed_again_while_its_old_container_is_removed_gets_a_new_one(site):
    """An app that ignores SIGTERM takes the whole stop timeout to retire. With one release kept, the third deploy
    hands v1's old container to a helper that stops and then removes it. Deploying v1 again in that window makes a
    new container: starting the one being removed failed the deploy (the engine's 409, or 404 once it was gone).
    On both engines: Podman reports the stopping container as not running, which reap once took for stopped."""
    s = site
    slow = dict(cutover_keep_releases=1, cutover_stop_timeout=15, cutover_public_env={'IGNORE_TERM': '1'})
    assert_ok(s.deploy('v1', **slow))
    first = s.state()['live']['container']
    for tag in ('v2', 'v3'):
        assert_ok(s.deploy(tag, **slow))
    assert [e['remove'] for e in s.state()['retiring'] if e['container'] == first] == [True], s.state()['retiring']
    again = s.deploy('v1', **slow)
    assert_ok(again)
    assert s.state()['live']['container'] != first and get_body(s.port) == 'demoapp v1'


def test_a_rollback_to_a_release_still_stopping_waits_for_its_stop_then_starts_it(site):
    """An app that ignores SIGTERM takes the whole stop timeout to retire; a rollback right after the deploy needs that
    container back while it is still stopping. It waits for the stop, then starts it. Podman reports such a container
    as not running (`stopping`) and refused to start it (`container state improper`)."""
    s = site
    slow = dict(cutover_stop_timeout=8, cutover_public_env={'IGNORE_TERM': '1'})
    assert_ok(s.deploy('v1', **slow))
    v1 = s.state()['live']['container']
    assert_ok(s.deploy('v2', **slow))
    assert [e['container'] for e in s.state()['retiring']] == [v1]  # still stopping: the helper waits out the timeout
    run = run_playbook(ROLLBACK, dict(s.vars, **slow))
    assert_ok(run)
    assert s.state()['live']['container'] == v1 and get_body(s.port) == 'demoapp v1'


KILL_AFTER = [
    'Take the deploy lock, ensure the proxy route and converge what an interrupted run left behind',
    'Start green beside the live container',  # the release is begun here too
    'Gate the new container on health',
    'Swap the route to green',
    'Persist green as live, then remove the old containers',  # killed while the old one is retiring
]


def test_killed_at_each_step_the_next_run_converges(docker_site, tmp_path):
    """SIGKILL the whole play right after each blue-green step in turn; status then converges:
    the route points at a running container the state names, nothing serving was removed, and the
    next deploy succeeds."""
    s = docker_site
    assert_ok(s.deploy('v1'))
    tags = ['v2', 'v3']
    for i, step in enumerate(KILL_AFTER):
        kill_after(step, DEPLOY, dict(s.vars, cutover_image=s.engine.image(tags[i % 2])), tmp_path / ('kill-%d.jsonl' % i))
        assert_status_converges(s, step)
        assert len(s.running()) == 1, (step, s.running())

    final = s.deploy('v1')
    assert_ok(final)
    assert get_body(s.port) == 'demoapp v1'


KILL_AFTER_STANDBY_ROLLBACK = [
    'Take the deploy lock, ensure the proxy route and converge what an interrupted run left behind',
    'Swap the route to green',  # routed to the standby, its entry not begun: the next run adopts it
]


def test_standby_rollback_killed_at_each_step_the_next_run_converges(docker_site, tmp_path):
    """SIGKILL a rollback to the running standby right after each of its steps (it has no green step, and the
    last step begins its history entry): status then converges on a route that points at a running container
    the state names, with no release left running, and nothing of v1's or v2's removed. After the kill past the
    swap, v1 is live again under its own entry, and a rollback run to the end still records its own."""
    s = docker_site
    assert_ok(s.deploy('v1'))
    v1 = s.state()['live']['container']
    assert_ok(s.deploy('v2', cutover_standby=300))
    v2 = s.state()['live']['container']
    for i, step in enumerate(KILL_AFTER_STANDBY_ROLLBACK):
        kill_after(step, ROLLBACK, dict(s.vars, cutover_standby=300), tmp_path / ('kill-%d.jsonl' % i))
        assert_status_converges(s, step)
        names = [c.name for c in s.engine.containers(s.service)]
        assert v1 in names and v2 in names, (step, names)
    state = s.state()
    # adopted under its own entry; v2 is closed rolled_back, so it is not taken for the previous good release
    assert state['live']['container'] == v1 and state['live']['number'] == 1
    assert [(h['kind'], h['outcome']) for h in state['history']] == [('deploy', 'succeeded'), ('deploy', 'rolled_back')]

    assert_ok(s.deploy('v2', cutover_standby=300))
    run = run_playbook(ROLLBACK, dict(s.vars, cutover_standby=300))
    assert_ok(run)
    assert host_module_runs(run) == 3, steps_run(run)
    assert s.state()['history'][-1]['kind'] == 'rollback' and get_body(s.port) == 'demoapp v1'


BAD_INPUTS = [
    (dict(cutover_service='Bad Name'), 'cutover_service'),
    (dict(cutover_container_port=0), 'cutover_container_port'),
    (dict(cutover_container_port='http'), 'cutover_container_port'),
    (dict(cutover_strategy='rolling'), 'strategy'),
    (dict(cutover_strategy='bluegreen'), 'strategy'),
    (dict(cutover_health=dict(path='/health', retries=3)), 'cutover_health'),
    (dict(cutover_health='yes'), 'cutover_health'),
    (dict(cutover_proxy=dict(type='traefik')), 'cutover_proxy'),
    (dict(cutover_proxy=dict(runtime='vm')), 'runtime'),
    (dict(cutover_engine=dict(type='containerd')), 'cutover_engine'),
    (dict(cutover_env=['A=1']), 'cutover_env'),
    (dict(cutover_volumes=['data']), 'cutover_volumes'),
    (dict(cutover_volumes=['data:/data:rx']), 'cutover_volumes'),
    (dict(cutover_labels=['x']), 'cutover_labels'),
    (dict(cutover_stop_timeout=-1), 'cutover_stop_timeout'),
    (dict(cutover_drain_timeout=-5), 'cutover_drain_timeout'),
    (dict(cutover_keep_releases=-1), 'cutover_keep_releases'),
    (dict(cutover_lock_wait=-1), 'cutover_lock_wait'),
    (dict(cutover_liveness_window=0), 'cutover_liveness_window'),
    (dict(cutover_image=None), 'cutover_image'),
    # hostile values that would reach a proxy's config or commands, a file name or a container
    (dict(cutover_service='web\n'), 'cutover_service'),
    (dict(cutover_proxy=dict(listen='127.0.0.1:8080\n  bind 127.0.0.1:9999')), 'cutover_proxy.listen'),
    (dict(cutover_proxy=dict(listen='127.0.0.1:8080;')), 'cutover_proxy.listen'),
    (dict(cutover_proxy=dict(route='web;disable frontend x')), 'cutover_proxy.route'),
    (dict(cutover_proxy=dict(type='nginx', route='/etc/ld.so')), 'cutover_proxy.route'),
    (dict(cutover_proxy=dict(route='web\n')), 'cutover_proxy.route'),
    (dict(cutover_proxy=dict(route='..')), 'cutover_proxy.route'),
    (dict(cutover_release='r1;} server {'), 'cutover_release'),
    (dict(cutover_volumes=['data:/data\n']), 'cutover_volumes'),
    (dict(cutover_env={'BAD NAME': 'x'}), 'cutover_env'),
    (dict(cutover_public_env={'A=B': 'x'}), 'cutover_public_env'),
    (dict(cutover_labels={'x\ny': 'z'}), 'cutover_labels'),
    (dict(cutover_health=dict(path='/health', body_regex='(')), 'cutover_health.body_regex'),
    (dict(cutover_health=dict(path='/health\r\nX-Evil: 1')), 'cutover_health.path'),
    (dict(cutover_health=dict(path='/health', interval=0)), 'cutover_health.interval'),
]


def test_bad_input_is_rejected_before_any_container_starts(docker_site, tmp_path):
    """Every bad input at once: one deploy run over an inventory of local hosts, one bad input each (host
    variables, so the base settings cannot be passed with -e, which would win). Each host fails with a
    message naming the variable, and nothing on the machine changed."""
    import sys
    s = docker_site
    hosts = {}
    for i, (extra, word) in enumerate(BAD_INPUTS):
        hosts['bad%d' % i] = dict(s.vars, cutover_image=s.engine.image('v1'), ansible_connection='local',
                                  ansible_python_interpreter=sys.executable)
        hosts['bad%d' % i].update(extra)
    inventory = tmp_path / 'inventory.json'
    inventory.write_text(json.dumps({'all': {'hosts': hosts}}))
    run = run_playbook(DEPLOY, inventory=inventory, args=['--forks', '10'])
    assert run.rc != 0
    for i, (extra, word) in enumerate(BAD_INPUTS):
        failed = [r for r in run.failed if r.get('host') == 'bad%d' % i]
        assert failed, (extra, run.stdout[-2000:])
        msg = failed[0]['result'].get('msg', '')
        assert word in msg, (extra, msg[:500])
    assert s.engine.containers(s.service) == []
    # nothing on the host changed: no state folder, no proxy config, no proxy started
    assert not s.state_dir.exists()
    assert not Path(s.proxy['config_dir']).exists()


def test_metrics_file_follows_the_history(docker_site):
    """The host's Prometheus file after a mix of outcomes: it parses, its counters match the history,
    and it names the live release and the last run's steps. Another service's corrupt state file on the host
    is left out with a warning naming it, and never fails a run nor keeps the lock; nor does a metrics file
    that cannot be written."""
    from prometheus_client.parser import text_string_to_metric_families
    site = docker_site
    assert_ok(site.deploy('v1'))
    (site.state_dir / 'other.json').write_text('{not json')
    lock = site.state_dir / ('%s.lock' % site.service)
    failing = site.deploy('v2', cutover_health=dict(path='/no-such-page', interval=0.2), cutover_gate_timeout=2)
    assert failing.rc != 0 and not lock.exists()
    deployed = site.deploy('v2')
    assert_ok(deployed)
    assert 'service other is left out of the metrics file' in deployed.stdout + deployed.stderr
    assert not lock.exists()
    unwritable = run_playbook(STATUS, dict(site.vars, cutover_metrics_file='/proc/no-such-dir/cutover.prom'))
    assert_ok(unwritable)
    assert 'was not written' in unwritable.stdout + unwritable.stderr and not lock.exists()
    assert_ok(run_playbook(STATUS, site.vars))  # a status run rewrites it and counts nothing
    metrics = site.state_dir / 'metrics' / 'cutover.prom'
    values = {}
    for family in text_string_to_metric_families(metrics.read_text()):
        for sample in family.samples:
            if sample.labels.get('service') == site.service:
                values[(sample.name, sample.labels.get('outcome') or sample.labels.get('step'))] = sample.value
    history = site.state()['history']
    for outcome in ('succeeded', 'failed'):
        assert values[('cutover_releases_total', outcome)] == sum(h['outcome'] == outcome for h in history) > 0
    assert values[('cutover_live_release', None)] == site.state()['live']['number'] == 3
    assert values[('cutover_last_release_step_seconds', 'gate')] >= 0
    assert ('cutover_last_release_step_seconds', 'swap') in values
    assert [p.name for p in metrics.parent.iterdir() if p.name.endswith('.tmp')] == []  # written atomically
