"""The deploy-step modules through Ansible itself, against a real Docker Engine and a real Podman.

Every change runs twice (changed, then not changed); every failure mode is asserted.
"""

from __future__ import annotations

import json
import urllib.request

from tests.helpers import run_module, run_modules, run_playbook


def get(upstream, path='/'):
    with urllib.request.urlopen('http://%s%s' % (upstream, path), timeout=5) as resp:
        return resp.status, resp.read().decode()


def green(engine, service, tag='v1', **extra):
    args = dict(engine_host=engine.host, service=service, image=engine.image(tag), container_port=8080)
    args.update(extra)
    return args


# validate_strategy ------------------------------------------------------------------------------

def test_validate_strategy_resolves_and_rejects():
    default, volumes, rolling, compose = run_modules([
        ('validate_strategy', {'strategy': ''}), ('validate_strategy', {'exclusive_volumes': True}),
        ('validate_strategy', {'strategy': 'rolling'}), ('validate_strategy', {'strategy': 'canary', 'source': 'compose'})])
    assert default['effective_strategy'] == 'blue-green' and volumes['effective_strategy'] == 'recreate'
    assert rolling['status'] == 'failed'
    assert 'cutover_replicas' in rolling['msg'] and '"blue-green"' in rolling['msg']  # rolling needs replicas
    assert compose['status'] == 'failed' and 'compose' in compose['msg']  # blue-green is its routed service's; not canary


# green_container -------------------------------------------------------------------------------

def test_green_container_starts_beside_and_is_idempotent(engine, service):
    first = run_module('green_container', green(engine, service, env={'SECRET_TOKEN': 'hunter2-value'}))
    assert first['status'] == 'ok' and first['changed'], first
    name = first['container']['name']
    assert name.startswith(service + '-')
    assert first['upstream'].startswith('127.0.0.1:')
    assert get(first['upstream']) == (200, 'demoapp v1\n')

    again = run_module('green_container', green(engine, service, env={'SECRET_TOKEN': 'hunter2-value'}))
    assert again['status'] == 'ok' and not again['changed']
    assert again['container']['id'] == first['container']['id']

    # A new release starts a second container beside the first: both serve at once.
    v2 = run_module('green_container', green(engine, service, 'v2'))
    assert v2['changed'] and v2['container']['name'] != name
    assert get(first['upstream'])[1] == 'demoapp v1\n' and get(v2['upstream'])[1] == 'demoapp v2\n'
    labels = engine.client.containers.get(v2['container']['id']).labels
    assert labels['io.cutover.service'] == service and labels['io.cutover.image'] == engine.image('v2')
    assert labels['io.cutover.release'] == v2['release'] and labels['io.cutover.strategy'] == 'blue-green'
    assert len(engine.containers(service)) == 2


def test_green_container_secrets_never_logged(docker_engine, service):
    args = green(docker_engine, service, env={'SECRET_TOKEN': 'hunter2-value'})
    run = run_playbook([dict(hosts='localhost', gather_facts=False,
                             tasks=[{'name': 'g', 'cutover.deploy.green_container': args}])], args=['-vvv'], diff=True)
    assert run.rc == 0, run.stdout
    assert 'hunter2-value' not in run.stdout + run.stderr
    assert 'hunter2-value' not in json.dumps(run.results)
    # ...but the container really got it
    env = docker_engine.client.containers.get(run.task('g')['result']['container']['id']).attrs['Config']['Env']
    assert 'SECRET_TOKEN=hunter2-value' in env


def test_release_id_hides_secrets_and_a_changed_setting_is_deployed(docker_engine, service):
    """The release id is the same for two secret values (it is not derived from them), yet a changed
    secret, or any changed setting under an explicit release, starts a new container."""
    first, other, pinned, changed, same = run_modules([('green_container', green(docker_engine, service, **extra)) for extra in (
        dict(env={'TOKEN': 'secret-one'}), dict(env={'TOKEN': 'secret-two'}),
        dict(release='r1', public_env={'MODE': 'a'}), dict(release='r1', public_env={'MODE': 'b'}),
        dict(release='r1', public_env={'MODE': 'b'}))])
    assert first['release'] == other['release']
    assert other['changed'] and other['container']['id'] != first['container']['id']
    assert changed['changed'] and changed['container']['id'] != pinned['container']['id']
    assert not same['changed'] and same['container']['id'] == changed['container']['id']


def test_failed_gate_logs_have_secret_values_masked(docker_engine, service):
    started = run_module('green_container', green(
        docker_engine, service, env={'API_TOKEN': 'hunter2-token'},
        command=['sh', '-c', 'echo "booting with $API_TOKEN"; sleep 30']))
    gate = run_module('health_gate', dict(engine_host=docker_engine.host, container=started['container']['name'],
                                          upstream=started['upstream'], path='/health', timeout=1.5, interval=0.3))
    assert gate['status'] == 'failed'
    assert 'booting with ********' in gate['logs'] and 'hunter2-token' not in json.dumps(gate)


def test_green_container_check_mode_starts_nothing(engine, service):
    res = run_module('green_container', green(engine, service), check=True, diff=True)
    assert res['status'] == 'ok' and res['changed']
    assert res['container']['id'] is None and res['container']['name'].startswith(service + '-')
    assert res['diff']['after']['image'] == engine.image('v1')
    assert engine.containers(service) == []


def test_green_container_restarts_a_kept_stopped_release(docker_engine, service):
    first = run_module('green_container', green(docker_engine, service))
    docker_engine.client.containers.get(first['container']['id']).stop(timeout=1)
    again = run_module('green_container', green(docker_engine, service))
    assert again['changed'] and again['actions'] == ['start %s' % first['container']['name']]
    assert again['container']['id'] == first['container']['id'] and again['container']['running']
    assert len(docker_engine.containers(service)) == 1


def test_green_container_settings_reach_the_engine(docker_engine, service, tmp_path):
    net = docker_engine.client.networks.create('%s-net' % service)
    env_file = tmp_path / 'app.env'
    env_file.write_text('# comment\nFROM_FILE=yes\nOVERRIDDEN=file\n')
    data = tmp_path / 'data'
    data.mkdir()
    try:
        res = run_module('green_container', green(
            docker_engine, service, env_file=str(env_file), public_env={'OVERRIDDEN': 'public'},
            volumes=['%s:/data:ro' % data], networks=[net.name], memory='64m', cpus=0.5,
            restart_policy='on-failure', labels={'team': 'web'}, stop_timeout=7,
            command=['/bin/start']))
        assert res['status'] == 'ok' and res['changed'], res
        attrs = docker_engine.client.containers.get(res['container']['id']).attrs
        env = attrs['Config']['Env']
        assert 'FROM_FILE=yes' in env and 'OVERRIDDEN=public' in env
        host = attrs['HostConfig']
        assert host['Memory'] == 64 * 1024 * 1024 and host['NanoCpus'] == 500000000
        assert host['RestartPolicy']['Name'] == 'on-failure' and attrs['Config']['StopTimeout'] == 7
        assert '%s:/data:ro' % data in host['Binds'] and net.name in attrs['NetworkSettings']['Networks']
        assert attrs['Config']['Labels']['team'] == 'web' and attrs['Config']['Cmd'] == ['/bin/start']
        assert get(res['upstream'])[1] == 'demoapp v1\n'
    finally:
        docker_engine.remove_service(service)
        net.remove()


BAD_GREEN_INPUTS = [
    (dict(container_port=70000), ['container_port', '65535']),
    (dict(service='Bad Name'), ['service', 'lowercase']),
    (dict(pull='sometimes'), ['pull', 'missing', 'always', 'never']),
    (dict(restart_policy='forever'), ['restart_policy', 'unless-stopped']),
    (dict(image='demoapp:does-not-exist', pull='never'), ['demoapp:does-not-exist', 'pull=never']),
    (dict(cpus='nan'), ['cpus nan is invalid', 'finite number']),
    (dict(engine_host='unix:///run/nothing-here.sock'), ['unix:///run/nothing-here.sock', 'engine_host']),
]


def test_green_container_bad_input_changes_nothing(docker_engine, service):
    """Each bad input (a table, one task each in one play) fails naming the field, and starts nothing."""
    results = run_modules([('green_container', dict(green(docker_engine, service), **case[0])) for case in BAD_GREEN_INPUTS])
    for (args, words), res in zip(BAD_GREEN_INPUTS, results):
        assert res['status'] == 'failed', (args, res)
        for word in words:
            assert word in res['msg'], (args, res['msg'])
    assert docker_engine.containers(service) == []


# health_gate ----------------------------------------------------------------------------------

def test_health_gate_http_passes(engine, service):
    g = run_module('green_container', green(engine, service, public_env={'BOOT_DELAY': '1'}))
    res = run_module('health_gate', dict(engine_host=engine.host, container=g['container']['name'],
                                         upstream=g['upstream'], path='/health', successes=2, interval=0.3,
                                         body_regex='^ok'))
    assert res['status'] == 'ok' and res['passed'] and not res['changed'] and res['probe'] == 'http'
    assert res['attempts'] >= 2


def test_health_gate_times_out_on_never_ready_app(engine, service):
    g = run_module('green_container', green(engine, service, public_env={'HEALTHY': '0'}))
    res = run_module('health_gate', dict(engine_host=engine.host, container=g['container']['name'],
                                         upstream=g['upstream'], path='/health', timeout=3, interval=0.5))
    assert res['status'] == 'failed' and not res['passed']
    assert 'not ready within 3' in res['msg'] and '404' in res['last_probe']
    assert res['container_state'] == 'running'


def test_health_gate_fails_fast_when_container_exits(engine, service):
    g = run_module('green_container', green(engine, service, restart_policy='no',
                                            public_env={'HEALTHY': '0', 'EXIT_AFTER': '1'}))
    res = run_module('health_gate', dict(engine_host=engine.host, container=g['container']['name'],
                                         upstream=g['upstream'], path='/health', timeout=60, interval=0.5))
    assert res['status'] == 'failed'
    # Podman says `stopped` for an exited container until its cleanup has run (seen once in a CI rehearsal)
    assert res['container_state'] in ('exited', 'stopped') and res['exit_code'] == 3, res
    assert res['elapsed'] < 30  # far from the 60 s timeout: it did not wait it out
    assert isinstance(res['logs'], list)


def test_health_gate_liveness_and_tcp(docker_engine, service):
    g = run_module('green_container', green(docker_engine, service))
    live = run_module('health_gate', dict(container=g['container']['name'], liveness_window=1.5, interval=0.5))
    assert live['passed'] and live['probe'] == 'liveness' and live['elapsed'] >= 1.5
    tcp = run_module('health_gate', dict(container=g['container']['name'], upstream=g['upstream'], probe='tcp'))
    assert tcp['passed'] and tcp['probe'] == 'tcp'


def test_health_gate_engine_healthcheck(docker_engine, service):
    g = run_module('green_container', green(docker_engine, service, healthcheck=dict(
        test=['CMD', 'wget', '-q', '-O-', 'http://127.0.0.1:8080/health'], interval=1, retries=2)))
    res = run_module('health_gate', dict(container=g['container']['name'], timeout=30, interval=0.5))
    assert res['status'] == 'ok' and res['probe'] == 'healthcheck', res


def test_health_gate_refuses_a_wait_that_never_ends_and_a_missing_container():
    endless, missing = run_modules([('health_gate', dict(container='no-such-container-xyz', timeout='inf')),
                                    ('health_gate', dict(container='no-such-container-xyz'))])
    assert endless['status'] == 'failed' and 'timeout inf is invalid: use a finite number' in endless['msg'], endless['msg']
    assert missing['status'] == 'failed' and 'no-such-container-xyz' in missing['msg']


# reap --------------------------------------------------------------------------------------------

def test_reap_removes_old_and_is_idempotent(engine, service, tmp_path):
    old, new = run_modules([('green_container', green(engine, service, tag)) for tag in ('v1', 'v2')])
    args = dict(engine_host=engine.host, service=service, keep=[new['container']['name']], state_dir=str(tmp_path))
    check = run_module('reap', args, check=True)
    assert check['changed'] and check['removed'] == [old['container']['name']]
    assert len(engine.containers(service)) == 2
    first = run_module('reap', args, diff=True)
    assert first['changed'] and first['removed'] == [old['container']['name']]
    assert [c.name for c in engine.containers(service)] == [new['container']['name']]
    assert get(new['upstream'])[1] == 'demoapp v2\n'
    second = run_module('reap', args)
    assert second['status'] == 'ok' and not second['changed'] and second['removed'] == []


def test_reap_refuses_to_remove_the_live_container(docker_engine, service, tmp_path):
    live = run_module('green_container', green(docker_engine, service, 'v1'))
    (tmp_path / ('%s.json' % service)).write_text(json.dumps({'live': {'container': live['container']['name']}}))
    res = run_module('reap', dict(service=service, keep=[], state_dir=str(tmp_path)))
    assert not res['changed'] and res['live'] == live['container']['name']
    assert len(docker_engine.containers(service)) == 1


def test_reap_keeps_recent_stopped_for_rollback(docker_engine, service, tmp_path):
    v1, v2, v3 = run_modules([('green_container', green(docker_engine, service, tag)) for tag in ('v1', 'v2', 'v3')])
    args = dict(service=service, keep=[v3['container']['name']], keep_stopped=1, stop_timeout=1,
                state_dir=str(tmp_path))
    res = run_module('reap', args)
    assert res['removed'] == [v1['container']['name']] and res['stopped'] == [v2['container']['name']]
    state = {c.name: c.status for c in docker_engine.containers(service)}
    assert state == {v2['container']['name']: 'exited', v3['container']['name']: 'running'}
    assert not run_module('reap', args)['changed']
