"""Replicas and the rolling strategy, the pure parts: a release's containers as one set through HAProxy's slots,
the reap and the crash repair; the settings' rules (tables)."""

from __future__ import annotations

import pytest

from ansible_collections.cutover.deploy.plugins.module_utils import _state as st
from ansible_collections.cutover.deploy.plugins.module_utils._naming import joined, members
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import (
    ProxyError, is_slot_name, member_slot_names, plan_upsert,
)
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.nginx import parse_upstream, render_upstream
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.site import haproxy_pairs, render_haproxy_service
from ansible_collections.cutover.deploy.plugins.module_utils._validate import deploy_input_errors, rolling_errors


def test_a_set_is_one_sorted_string():
    assert joined(['web-b', 'web-a']) == 'web-a,web-b' and members('web-a,web-b') == ['web-a', 'web-b']
    assert members('web-a') == ['web-a'] and members(None) == [] and members('') == []


def test_slots_come_in_a_pair_per_replica_and_the_first_pair_keeps_its_names():
    assert member_slot_names(None) == ('a', 'b') and member_slot_names('app1') == ('app1_a', 'app1_b')
    assert member_slot_names(None, 3) == ('a', 'b', 'a2', 'b2', 'a3', 'b3')
    assert [n for n in ('a', 'b2', 'a12', 'app1_a', 'c', 'a1', 'a0') if is_slot_name(n, None)] == ['a', 'b2', 'a12']
    assert [n for n in ('app1_a', 'app1_b3', 'a', 'app2_a') if is_slot_name(n, 'app1')] == ['app1_a', 'app1_b3']
    text = render_haproxy_service('web', '127.0.0.1:8080', pairs=3)
    assert text.count(' localhost:1 disabled') == 6 and haproxy_pairs(text) == 3
    assert haproxy_pairs(render_haproxy_service('web', '127.0.0.1:8080')) == 1 and haproxy_pairs(None) == 1
    assert haproxy_pairs(render_haproxy_service('web', '127.0.0.1:8080', members={'app1', 'app2'}, pairs=2)) == 2


def slot(name, upstream, role):
    host, port = upstream.rsplit(':', 1)
    admin = {'serving': 0, 'draining': 8, 'idle': 1}[role]
    return dict(name=name, addr=host, port=int(port), admin_state=admin, op_state=2, weight=100, initial_weight=100)


def test_haproxy_swaps_every_replica_at_once_into_idle_slots():
    slots = [slot('a', '127.0.0.1:1001', 'serving'), slot('b', '127.0.0.1:1', 'idle'),
             slot('a2', '127.0.0.1:1002', 'serving'), slot('b2', '127.0.0.1:1', 'idle')]
    cmds = plan_upsert(slots, '127.0.0.1:2002,127.0.0.1:2001')
    assert cmds == ['set server %s/b addr 127.0.0.1 port 2002', 'set server %s/b state ready',
                    'set server %s/b2 addr 127.0.0.1 port 2001', 'set server %s/b2 state ready',
                    'set server %s/a state drain', 'set server %s/a2 state drain']
    # a rolling batch: one new replica beside one old that stays
    cmds = plan_upsert(slots, '127.0.0.1:2001,127.0.0.1:1002')
    assert cmds == ['set server %s/b addr 127.0.0.1 port 2001', 'set server %s/b state ready', 'set server %s/a state drain']
    assert plan_upsert(slots, '127.0.0.1:1002,127.0.0.1:1001') == []
    with pytest.raises(ProxyError, match='two slots per replica'):
        plan_upsert(slots, '127.0.0.1:2001,127.0.0.1:2002,127.0.0.1:2003')


def weighed(name, upstream, role, weight):
    return dict(slot(name, upstream, role), weight=weight)


def test_an_upsert_gives_green_its_full_weight_before_blue_drains():
    slots = [weighed('a', '127.0.0.1:1001', 'serving', 70), weighed('b', '127.0.0.1:2001', 'serving', 40)]
    assert plan_upsert(slots, '127.0.0.1:2001') == ['set server %s/b weight 100', 'set server %s/a state drain']


def test_nginx_and_its_read_back_take_every_replica():
    text = render_upstream('web', '127.0.0.1:2002,127.0.0.1:2001')
    assert text.count('    server ') == 2 and parse_upstream(text) == '127.0.0.1:2001,127.0.0.1:2002'


def c(name, upstream, running=True, release=None):
    return dict(name=name, id=name + '0' * 20, upstream=upstream, running=running, created=name, release=release or name)


def live(names, upstreams, number=1):
    s = st.new_state('web')
    s['history'] = [dict(number=number, outcome='succeeded', container=names)]
    s['live'] = dict(container=names, upstream=upstreams, number=number)
    return s


V1 = [c('w-1', 'u1', release='r1'), c('w-2', 'u2', release='r1')]
V2 = [c('w-3', 'u3', release='r2'), c('w-4', 'u4', release='r2')]


def test_a_crash_after_the_swap_adopts_the_new_set_and_keeps_the_old():
    plan = st.plan_reconcile(live('w-1,w-2', 'u1,u2'), V1 + V2, 'u3,u4')
    assert plan['adopt'] == 'w-3,w-4' and sorted(plan['retire']) == ['w-1', 'w-2'] and plan['remove'] == []


def test_a_crash_mid_rollout_or_mid_swap_points_the_route_back_at_the_live_set():
    plan = st.plan_reconcile(live('w-1,w-2', 'u1,u2'), V1 + V2, 'u2,u3')  # two releases: not adopted
    assert plan['adopt'] is None and plan['route'] == 'u1,u2' and sorted(plan['remove']) == ['w-3', 'w-4']


def test_a_paused_mix_of_two_releases_is_left_as_it_is():
    plan = st.plan_reconcile(live('w-2,w-3', 'u2,u3', number=2), [c('w-1', 'u1', False, 'r1')] + V1[1:] + V2, 'u2,u3')
    assert plan['route'] is None and plan['adopt'] is None and plan['remove'] == ['w-4'] and plan['start'] is None


def test_a_stopped_replica_of_the_live_set_is_started_again():
    plan = st.plan_reconcile(live('w-1,w-2', 'u1,u2'), [V1[0], c('w-2', 'u2', running=False, release='r1')], 'u1,u2')
    assert plan['start'] == 'w-2' and plan['route'] is None


def test_the_reap_keeps_or_removes_a_release_s_replicas_together():
    containers = [dict(c_, created=c_['name']) for c_ in V1 + V2 + [c('w-0', 'u0', release='r0')]]
    remove, stop, kept = st.select_reap(containers, keep=['w-3,w-4'], live='w-3,w-4', keep_stopped=1,
                                        was_live=['w-3,w-4', 'w-1,w-2', 'w-0'])
    assert sorted(k['name'] for k in kept) == ['w-1', 'w-2', 'w-3', 'w-4']
    assert sorted(s['name'] for s in stop) == ['w-1', 'w-2'] and [r['name'] for r in remove] == ['w-0']


@pytest.mark.parametrize('v, words', [
    (dict(replicas=0), 'cutover_replicas 0 is invalid: use a whole number from 1 to 32'),
    (dict(replicas=2.5), 'cutover_replicas 2.5 is invalid'),
    (dict(replicas=33), 'cutover_replicas 33 is invalid'),
    (dict(replicas=3, proxy=dict(type='npm')), 'proxy.type npm forwards to one host:port'),
    (dict(replicas=3, proxy=dict(type='none')), 'proxy.type none has no route'),
    (dict(replicas=2, proxy=dict(host='lb')), 'shared load balancer (cutover_proxy.host) is not supported yet'),
    (dict(replicas=2, source=dict(type='compose', files=['c.yml'], service='web')), 'scale the compose service itself'),
])
def test_replicas_refused_naming_the_field_and_why(v, words):
    errors = deploy_input_errors(dict(dict(service='web'), **v))
    assert any(words in e for e in errors), errors


@pytest.mark.parametrize('rolling, replicas, words', [
    (dict(batch=3), 2, 'cutover_rolling.batch 3 is invalid: use a whole number from 1 to cutover_replicas (2)'),
    (dict(batch=0), 2, 'cutover_rolling.batch 0 is invalid'),
    (dict(delay=-1), 2, 'cutover_rolling.delay -1 is invalid: use seconds from 0 to 3600'),
    (dict(failure_action='continue'), 2, "cutover_rolling.failure_action 'continue' is invalid (valid: rollback, pause)"),
    (dict(size=2), 2, "cutover_rolling has unknown keys ['size'] (valid: batch, delay, failure_action)"),
])
def test_rolling_settings_refused_naming_the_field(rolling, replicas, words):
    assert any(words in e for e in rolling_errors(rolling, replicas)), rolling_errors(rolling, replicas)


def test_rolling_settings_accepted():
    assert rolling_errors(dict(batch=2, delay=5, failure_action='pause'), 4) == []
    assert deploy_input_errors(dict(service='web', replicas=4, rolling=dict(batch=2))) == []


def test_status_counts_the_live_replicas():
    s = live('w-1,w-2', '127.0.0.1:1,127.0.0.1:2')
    assert st.history_table(s)[0] == 'live: 2 replicas w-1,w-2 at 127.0.0.1:1,127.0.0.1:2 (release 1, None)'
    assert st.history_table(live('w-1', '127.0.0.1:1'))[0] == 'live: w-1 at 127.0.0.1:1 (release 1, None)'


def test_a_canary_weighs_the_new_replicas_together_against_the_live_ones():
    from ansible_collections.cutover.deploy.plugins.module_utils._canary import step_weights  # pylint: disable=import-outside-toplevel
    from ansible_collections.cutover.deploy.plugins.modules.canary import pick_slots  # pylint: disable=import-outside-toplevel
    assert step_weights(10, 100) == (90, 10) and step_weights(50, 100, 2, 2) == (50, 50)
    blue, green = step_weights(20, 100, 3, 2)  # 3 live replicas, 2 new: the two take 20 % together
    assert (blue, green) == (80, 30) and 2 * green / float(2 * green + 3 * blue) == 0.2
    slots = [slot('a', '127.0.0.1:1001', 'serving'), slot('b', '127.0.0.1:1', 'idle'),
             slot('a2', '127.0.0.1:1002', 'serving'), slot('b2', '127.0.0.1:1', 'idle')]
    blues, greens = pick_slots(slots, '127.0.0.1:1001,127.0.0.1:1002', '127.0.0.1:2001,127.0.0.1:2002')
    assert [s['name'] for s in blues] == ['a', 'a2'] and [s['name'] for s in greens] == ['b', 'b2']
    with pytest.raises(ProxyError, match='does not serve the live upstream'):
        pick_slots(slots, '127.0.0.1:1001,127.0.0.1:1003', '127.0.0.1:2001')
