"""The settings step: the values the roles read, derived in one place (pure), and the deploy's own checks."""

import datetime

from ansible_collections.cutover.deploy.plugins.module_utils import _settings as st

NOW = datetime.datetime(2026, 12, 2, 18, 0, 0, tzinfo=datetime.timezone.utc)


def args(**extra):
    base = {k: spec.get('default') for k, spec in st.ARGUMENT_SPEC.items()}
    base.update(service='web', image='web:2', container_port=8080, host='app1', inventory_hosts=['app1', 'lb'],
                state_dir='/var/lib/cutover', numbers=dict(stop_timeout=10, drain_timeout=30, lock_lease=0))
    base.update(extra)
    return base


def test_the_lock_lease_outlasts_every_step_and_counts_canary_steps():
    assert st.lock_lease(dict(stop_timeout=10, drain_timeout=30, lock_lease=0), '', {}) == 120  # 110, at least 120
    assert st.lock_lease(dict(stop_timeout='60', drain_timeout='100', lock_lease='0'), '', {}) == 280
    # a canary counts its steps: the defaults (two steps of 30 s), or the given ones
    assert st.lock_lease(dict(stop_timeout=10, drain_timeout=30), 'canary', {}) == 170
    assert st.lock_lease(dict(stop_timeout=10, drain_timeout=30), 'canary', dict(steps=[5, 25, 50], interval=60)) == 290
    assert st.lock_lease(dict(lock_lease='45'), 'canary', {}) == 45  # given: taken as it is


def test_engine_args_only_for_what_cutover_engine_sets():
    assert st.engine_args({}) == {} and st.engine_args(dict(type='docker')) == {}
    assert st.engine_args(dict(type='podman')) == dict(engine_host=st.PODMAN_SOCKET)
    assert st.engine_args(dict(type='podman', host='tcp://h:2376')) == dict(engine_host='tcp://h:2376')


def test_resolve_derives_the_proxy_route_and_ids():
    errors, facts = st.resolve(args(proxy=dict(type='haproxy', listen='127.0.0.1:8080', route='webapp')), NOW, 'ops')
    assert errors == []
    assert facts['_cutover_route'] == 'webapp' and facts['_cutover_proxy'] == dict(type='haproxy', listen='127.0.0.1:8080')
    assert facts['_cutover_proxy_host'] == 'app1' and not facts['_cutover_proxy_shared'] and not facts['_cutover_proxy_remote']
    assert facts['_cutover_initiator'] == 'ops' and facts['_cutover_rollout_id'].startswith('20261202T180000Z-')
    assert facts['_cutover_lease'] == dict(state_dir='/var/lib/cutover', service='web', run_id=facts['_cutover_run_id'],
                                           seconds=120)
    again = st.resolve(args(run_id=facts['_cutover_run_id'], rollout_id='r-1', initiator='awx-user'), NOW, 'ops')[1]
    assert (again['_cutover_run_id'], again['_cutover_rollout_id'], again['_cutover_initiator']) == (
        facts['_cutover_run_id'], 'r-1', 'awx-user')
    assert st.resolve(args(awx_job_id=42), NOW, 'ops')[1]['_cutover_rollout_id'] == 'awx-job-42'


def test_resolve_on_a_shared_load_balancer_names_the_member():
    facts = st.resolve(args(proxy=dict(type='haproxy', host='lb'), publish_address='10.231.0.11'), NOW, 'ops')[1]
    assert facts['_cutover_proxy_shared'] and facts['_cutover_proxy_remote'] and facts['_cutover_proxy_host'] == 'lb'
    assert facts['_cutover_proxy'] == dict(type='haproxy', member='app1')


def test_the_run_s_ids_and_the_proxy_password_never_become_cacheable_facts():
    proxy = dict(type='npm', url='http://127.0.0.1:81', email='ops@example.test', password='s3cret')
    facts = st.resolve(args(proxy=proxy, run_id='run-1', rollout_id='r-1'), NOW, 'ops')[1]
    cached, run_only = st.split_run_only(facts)
    assert sorted(run_only) == sorted(st.RUN_ONLY)
    assert run_only['_cutover_proxy']['password'] == 's3cret' and run_only['_cutover_run_id'] == 'run-1'
    assert 's3cret' not in repr(cached) and 'run-1' not in repr(cached) and 'r-1' not in repr(cached.values())
    assert dict(cached, **run_only) == facts  # nothing lost


def test_the_common_role_sets_every_run_only_value_for_the_run():
    from pathlib import Path
    import yaml
    tasks = yaml.safe_load((Path(__file__).resolve().parents[2] / 'roles' / 'common' / 'tasks' / 'main.yml').read_text())
    kept = next(t['ansible.builtin.set_fact'] for t in tasks if 'ansible.builtin.set_fact' in t)
    assert sorted(kept) == sorted(st.RUN_ONLY)
    assert all(value == '{{ _cutover_settings.run_only.%s }}' % name for name, value in kept.items())


DEPLOY_TABLE = [
    (dict(image=None), 'cutover_image must be an image reference'),
    (dict(image=''), 'cutover_image must be an image reference'),
    (dict(container_port=0), 'cutover_container_port 0 is invalid: use 1-65535'),
    (dict(container_port='http'), 'cutover_container_port http is invalid'),
    (dict(container_port=True), 'cutover_container_port True is invalid'),
    (dict(strategy='rolling'), 'strategy'),
    (dict(strategy='bluegreen'), 'strategy'),
    (dict(strategy='canary', proxy=dict(type='caddy')), 'proxy.type'),
]


def test_deploy_checks_name_the_variable_and_change_nothing():
    for extra, message in DEPLOY_TABLE:
        errors, facts = st.resolve(args(deploy=True, **extra), NOW, 'ops')
        assert facts == {} and any(message in e for e in errors), (extra, errors)
    assert st.resolve(args(deploy=False, image=None), NOW, 'ops')[0] == []  # rollback and status need no image
    errors, facts = st.resolve(args(deploy=True), NOW, 'ops')
    assert errors == [] and facts['cutover_strategy_result'] == dict(requested_strategy='', effective_strategy='blue-green')
    git = st.resolve(args(deploy=True, image=None, source=dict(type='git', repo='/srv/app.git')), NOW, 'ops')
    assert git[0] == [] and git[1]['_cutover_source_type'] == 'git'
