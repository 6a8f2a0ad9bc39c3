import pytest

from ansible_collections.cutover.deploy.plugins.module_utils import _state as st
from ansible_collections.cutover.deploy.plugins.module_utils._lock import lock_verdict


def c(name, upstream, running=True, release=None):
    """A container's describe() facts; each its own release unless given (replicas share one)."""
    return dict(name=name, id=name + '0' * 20, upstream=upstream, running=running, created=name, release=release or name)


def test_history_lifecycle_and_previous_good():
    s = st.new_state('web')
    s, n1 = st.begin_release(s, dict(image='web:1', release_id='r1'))
    s = st.mark_live(s, n1, 'web-a', '127.0.0.1:1', 't1')
    s, n2 = st.begin_release(s, dict(image='web:2', release_id='r2'))
    assert (n1, n2) == (1, 2) and s['history'][1]['outcome'] == 'running'
    s = st.finish_release(s, n2, 'failed', 't2', 'gate')
    assert s['live']['container'] == 'web-a' and s['history'][1]['reason'] == 'gate'
    s, n3 = st.begin_release(s, dict(image='web:3', release_id='r3'))
    s = st.mark_live(s, n3, 'web-c', '127.0.0.1:3', 't3')
    assert st.previous_good(s)['number'] == 1  # failed 2 is skipped, live 3 is not a rollback target
    assert st.previous_good(s, 2)['number'] == 2
    table = st.history_table(s)
    assert table[0].startswith('live: web-c') and table[2].startswith('3*') and 'failed' in table[3]


def test_finish_rejects_unknown_outcome():
    s, n = st.begin_release(st.new_state('web'), {})
    try:
        st.finish_release(s, n, 'exploded', 't')
    except ValueError as exc:
        assert 'succeeded' in str(exc) and 'cancelled' in str(exc)
    else:
        raise AssertionError('no error')


def state_with(live_container, live_upstream, running_numbers=()):
    s = dict(service='web', live=dict(container=live_container, upstream=live_upstream, number=1), history=[
        dict(number=1, outcome='succeeded', container=live_container)])
    for n in running_numbers:
        s['history'].append(dict(number=n, outcome='running', container='web-green'))
    return s


def test_reconcile_converged_is_empty():
    plan = st.plan_reconcile(state_with('web-a', 'u1'), [c('web-a', 'u1')], 'u1')
    assert plan == dict(adopt=None, start=None, follow=None, route=None, retire=[], remove=[], cancel=[], end_standby=False,
                        weights=False)


def test_reconcile_follows_a_live_container_the_engine_republished_elsewhere():
    # the engine restarted the live container on another port: state and route follow what it publishes
    plan = st.plan_reconcile(state_with('web-a', 'u1'), [c('web-a', 'u9')], 'u1')
    assert plan['follow'] == 'u9' and plan['route'] == 'u9' and plan['remove'] == []


def test_reconcile_killed_before_swap_removes_orphan_green():
    plan = st.plan_reconcile(state_with('web-a', 'u1', [2]), [c('web-a', 'u1'), c('web-green', 'u2')], 'u1')
    assert plan['remove'] == ['web-green'] and plan['cancel'] == [2] and plan['adopt'] is None


def test_reconcile_killed_after_swap_adopts_green_and_keeps_old():
    plan = st.plan_reconcile(state_with('web-a', 'u1', [2]), [c('web-a', 'u1'), c('web-green', 'u2')], 'u2')
    assert plan['adopt'] == 'web-green'
    assert plan['retire'] == ['web-a'] and plan['remove'] == []  # stopped gracefully, kept for rollback
    assert plan['route'] is None


def test_reconcile_mid_swap_points_route_back():
    plan = st.plan_reconcile(state_with('web-a', 'u1'), [c('web-a', 'u1'), c('web-b', 'u2')], 'u1,u2')
    assert plan['route'] == 'u1' and plan['remove'] == ['web-b']


@pytest.mark.parametrize('route, weighted, expected', [
    ('u1', True, True),  # the live server alone, at a canary's share (weight 0 answers 503)
    ('u1', False, False),
    ('u1,u2', True, False),  # pointed back at live: the swap gives its slot its weight
    (None, True, False),  # no route to go by
])
def test_reconcile_gives_the_route_its_weights_back(route, weighted, expected):
    plan = st.plan_reconcile(state_with('web-a', 'u1'), [c('web-a', 'u1'), c('web-b', 'u2')], route, weighted=weighted)
    assert plan['weights'] is expected


def test_weights_off_are_the_serving_slots_a_canary_left_at_its_share():
    from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import weights_off_in  # pylint: disable=import-outside-toplevel
    slots = [dict(name='a', admin_state=0, weight=0, initial_weight=100),
             dict(name='b', admin_state=1, weight=50, initial_weight=100),  # idle (maintenance): not routed
             dict(name='c', admin_state=0, weight=100, initial_weight=100)]
    assert weights_off_in(slots) == ['a']


def test_reconcile_starts_stopped_live_and_keeps_parked():
    plan = st.plan_reconcile(state_with('web-a', 'u1'), [c('web-a', 'u1', running=False), c('web-old', 'u0', running=False)], None)
    assert plan['start'] == 'web-a' and plan['remove'] == []


def test_lock_verdict():
    assert lock_verdict(dict(process=[1, 'x']), 0, 'b1', alive=lambda p, s: True)[0] == 'held'
    assert lock_verdict(dict(process=[1, 'x']), 0, 'b1', alive=lambda p, s: False)[0] == 'stale'
    assert lock_verdict(dict(expires=10), 5, 'b1')[0] == 'held'
    assert lock_verdict(dict(expires=10), 11, 'b1')[0] == 'stale'
    # a lock from before a reboot is stale whatever its lease or process says
    verdict, why = lock_verdict(dict(expires=10, boot_id='b0', process=[1, 'x']), 5, 'b1', alive=lambda p, s: True)
    assert verdict == 'stale' and 'rebooted' in why


def test_reconcile_without_state_or_route_removes_nothing():
    plan = st.plan_reconcile(st.new_state('web'), [c('web-a', 'u1'), c('web-b', 'u2')], None)
    assert plan['remove'] == [] and plan['adopt'] is None


def test_reconcile_lost_state_adopts_the_routed_container():
    plan = st.plan_reconcile(st.new_state('web'), [c('web-a', 'u1'), c('web-b', 'u2')], 'u2')
    assert plan['adopt'] == 'web-b' and plan['remove'] == ['web-a']


def test_history_is_bounded_but_keeps_the_live_entry():
    state = st.new_state('web')
    state, first = st.begin_release(state, dict(image='x'))
    state = st.mark_live(state, first, 'web-1', 'u1', 'now')
    for dummy in range(10):
        state, number = st.begin_release(state, dict(image='y'), history_limit=3)
    numbers = [h['number'] for h in state['history']]
    assert numbers == [1, 9, 10, 11]


def test_state_of_the_wrong_shape_is_a_clear_error(tmp_path):
    import pytest
    for text in ('[]', '{"history": {}}', '{"history": [{"number": "1"}]}', '{"live": "web-1"}', '{bad'):
        (tmp_path / 'web.json').write_text(text)
        with pytest.raises(st.StateError) as err:
            st.read_state(str(tmp_path), 'web')
        assert str(tmp_path / 'web.json') in str(err.value)


def test_record_live_is_idempotent_and_closes_the_release_a_rollback_left():
    s = st.new_state('web')
    s, n1 = st.begin_release(s, dict(image='web:1', rollout='r1'))
    s = st.record_live(s, n1, 'web-a', 'u1', 't1')
    assert st.record_live(s, n1, 'web-a', 'u1', 't9') is s  # already live there: unchanged, nothing to write
    s, n2 = st.begin_release(s, dict(image='web:2', rollout='r2'))
    s = st.record_live(s, n2, 'web-b', 'u2', 't2')
    s, n3 = st.begin_release(s, dict(image='web:1', kind='rollback', rollout='r3'))
    s = st.record_live(s, n3, 'web-a', 'u1', 't3', rolled_back_from=n2)
    assert s['live']['number'] == n3 and s['history'][1]['outcome'] == 'rolled_back'
    summary = st.release_summary(s)
    assert summary['live_number'] == n3 and summary['live_rollout'] == 'r3' and summary['last_outcome'] == 'succeeded'
    assert st.release_summary(st.new_state('web'))['live_number'] is None


def deployed_twice():
    s = st.new_state('web')
    s, n1 = st.begin_release(s, dict(image='web:1', release_id='r1'))
    s = st.mark_live(s, n1, 'web-a', 'u1', 't1')
    s, n2 = st.begin_release(s, dict(image='web:2', release_id='r2'))
    return s, st.mark_live(s, n2, 'web-b', 'u2', 't2')


def running(name, upstream, up=True):
    return dict(name=name, upstream=upstream, running=up)


@pytest.mark.parametrize('containers, now, expected', [
    ([running('web-a', '127.0.0.1:4000')], 100.0, dict(container='web-a', number=1, upstream='127.0.0.1:4000')),
    ([running('web-a', '127.0.0.1:4000')], 160.0, None),  # its window is over
    ([running('web-a', None, up=False)], 100.0, None),  # stopped (a host reboot): the rollback starts it again
    ([], 100.0, None),  # removed by hand
])
def test_a_running_standby_is_what_a_rollback_swaps_to(containers, now, expected):
    """The upstream is the one its container publishes now, not the one recorded when it was replaced."""
    before, after = deployed_twice()
    s = st.with_standby(after, st.next_standby(before, after, 60, 100.0))
    assert st.running_standby(s, containers, now) == expected
    assert st.running_standby(after, containers, now) is None  # no standby recorded


def test_a_rollback_to_the_standby_records_its_entry_from_the_release_it_returns_to():
    dummy, s = deployed_twice()
    s['history'][0].update(image_id='sha256:1', container_port=8080, strategy='blue-green')
    record = dict(image=None, strategy=None, kind='rollback', initiator='ops', notes=None, commit_sha=None,
                  rollout='r9', history_limit=100)
    entry = st.standby_rollback_entry(s, 'web-a', '127.0.0.1:4001', record, 't3')
    assert entry == dict(image='web:1', image_id='sha256:1', release_id='r1', container='web-a',
                         upstream='127.0.0.1:4001', container_port=8080, strategy='blue-green', kind='rollback',
                         initiator='ops', notes=None, commit_sha=None, rollout='r9', started='t3')
    s, number = st.begin_release(s, entry)
    s = st.record_live(s, number, 'web-a', '127.0.0.1:4001', 't3', rolled_back_from=2)
    assert [(h['number'], h['outcome']) for h in s['history']] == [(1, 'succeeded'), (2, 'rolled_back'), (3, 'succeeded')]
    with pytest.raises(ValueError, match='web-z'):
        st.standby_rollback_entry(s, 'web-z', 'u', record, 't4')


@pytest.mark.parametrize('adopted, expected', [
    (dict(number=1, kind='deploy'), 2),  # the standby, routed by a rollback killed before its last step
    (dict(number=3, kind='rollback'), 2),  # a rollback's restarted container, its entry begun
    (dict(number=3, kind='deploy'), None),  # a deploy's green, killed after its swap: v2 stays the previous good
    (dict(number=2, kind='deploy'), None),  # the live one itself
])
def test_an_adopted_route_closes_the_live_release_only_when_it_was_a_rollback(adopted, expected):
    dummy, s = deployed_twice()
    assert st.rolled_back_by_adoption(s, adopted) == expected
    assert st.rolled_back_by_adoption(st.new_state('web'), adopted) is None  # nothing live to close


HTTP = dict(type='http', path='/health', status=[200])
READY = dict(type='http', path='/ready', status=[200])


def before_rollback(v1_check, current, standby=True):
    """prepare's answer after v1 then v2 (v2 live), v1 recorded under v1_check, HAProxy running `current`."""
    history = [dict(number=1, outcome='succeeded', container='web-a', **({'check': v1_check} if v1_check else {})),
               dict(number=2, outcome='succeeded', container='web-b', check=current)]
    return dict(live=dict(number=2, container='web-b'), history=history, proxy_check=current,
                standby=dict(container='web-a', number=1, upstream='u1') if standby else None)


@pytest.mark.parametrize('before, number, user_check, expected', [
    # the standby is the target: one swap; v1 was recorded under the check HAProxy runs: kept, no reload
    (before_rollback(HTTP, HTTP), '', False, dict(target=1, standby='web-a', check=HTTP, hold_check=False)),
    (before_rollback(HTTP, HTTP, standby=False), None, False, dict(target=1, standby=None, check=HTTP, hold_check=False)),
    # v1 was recorded under another path, or before releases recorded one: held at a TCP connect first
    (before_rollback(READY, HTTP), '', False, dict(target=1, standby='web-a', check={'type': 'tcp'}, hold_check=True)),
    (before_rollback(None, HTTP), '', False, dict(target=1, standby='web-a', check={'type': 'tcp'}, hold_check=True)),
    # a TCP connect every release passes; the user's own check; no HAProxy check at all: left as they are
    (before_rollback(READY, {'type': 'tcp'}), '', False, dict(target=1, standby='web-a', check={'type': 'tcp'}, hold_check=False)),
    (before_rollback(READY, HTTP), '', True, dict(target=1, standby='web-a', check=HTTP, hold_check=False)),
    (before_rollback(READY, None), '', False, dict(target=1, standby='web-a', check=None, hold_check=False)),
    # a release asked by number (a string from -e): the standby counts only when it is that release
    (before_rollback(HTTP, HTTP), '2', False, dict(target=2, standby=None, check=HTTP, hold_check=False)),
    (before_rollback(HTTP, HTTP), 7, False, dict(target=None, standby=None, check=HTTP, hold_check=False)),  # none: refused
    # a label, not a number: refused the same way
    (before_rollback(HTTP, HTTP), 'r1', False, dict(target=None, standby=None, check=HTTP, hold_check=False)),
])
def test_a_rollback_plan_picks_the_release_the_standby_and_the_check(before, number, user_check, expected):
    plan = st.rollback_plan(before, number, user_check)
    assert dict(plan, target=(plan['target'] or {}).get('number'),
                standby=(plan['standby'] or {}).get('container')) == expected


def test_standby_is_the_good_release_a_deploy_replaced_for_its_window():
    before, after = deployed_twice()
    assert st.next_standby(before, after, 0, 100.0) is None  # the default: stopped at once
    standby = st.next_standby(before, after, 60, 100.0)
    assert standby == dict(container='web-a', number=1, upstream='u1', until=160.0)
    s = st.with_standby(after, standby)
    assert st.active_standby(s, 159.0) == 'web-a' and st.active_standby(s, 160.0) is None
    assert 'standby: web-a at u1 (release 1)' in st.history_table(s)[1]
    # a later deploy inside the window keeps the earlier standby only when nothing good was replaced
    s2, n3 = st.begin_release(s, dict(image='web:3', release_id='r3'))
    assert st.next_standby(s2, s2, 60, 120.0)['container'] == 'web-a'
    s3 = st.mark_live(s2, n3, 'web-c', 'u3', 't3')
    assert st.next_standby(s2, s3, 60, 120.0)['container'] == 'web-b'


def test_a_release_a_rollback_left_never_becomes_the_standby():
    s = deployed_twice()[1]
    s = st.with_standby(s, dict(container='web-a', number=1, upstream='u1', until=160.0))
    back = st.record_live(s, 1, 'web-a', 'u1', 't3', rolled_back_from=2)
    assert st.next_standby(s, back, 60, 120.0) is None  # web-b was rolled back; web-a is live again
    assert st.active_standby(back, 120.0) is None


def test_reconcile_leaves_the_standby_running_in_its_window_then_retires_it():
    s = deployed_twice()[1]
    s = st.with_standby(s, dict(container='web-a', number=1, upstream='u1', until=160.0))
    containers = [c('web-a', 'u1'), c('web-b', 'u2')]
    plan = st.plan_reconcile(s, containers, 'u2', now=150.0)
    assert plan['remove'] == [] and plan['retire'] == [] and not plan['end_standby']
    plan = st.plan_reconcile(s, containers, 'u2', now=161.0)
    assert plan['retire'] == ['web-a'] and plan['remove'] == [] and plan['end_standby']
    # a standby already stopped (recreate stops every old container) only loses its record
    plan = st.plan_reconcile(s, [c('web-a', 'u1', running=False), c('web-b', 'u2')], 'u2', now=161.0)
    assert plan['retire'] == [] and plan['end_standby']


def test_a_removed_service_deployed_again_is_no_longer_marked_removed():
    from ansible_collections.cutover.deploy.plugins.modules.remove_service import removed_state
    state = st.new_state('web')
    state, number = st.begin_release(state, dict(kind='deploy', image='web:1', started='2026-12-07T00:00:00Z'))
    state = st.mark_live(state, number, 'web-1', '127.0.0.1:9001', '2026-12-07T00:00:05Z')
    gone = removed_state(dict(state, standby={'container': 'web-0'}), '2026-12-07T01:00:00Z')
    assert gone['live'] is None and 'standby' not in gone and gone['removed'] == '2026-12-07T01:00:00Z'
    assert gone['history'] == state['history']  # the history stays
    gone, number = st.begin_release(gone, dict(kind='deploy', image='web:2', started='2026-12-07T02:00:00Z'))
    again = st.mark_live(gone, number, 'web-2', '127.0.0.1:9002', '2026-12-07T02:00:05Z')
    assert 'removed' not in again and again['live']['container'] == 'web-2'


def test_a_steps_record_option_becomes_one_history_entry():
    from ansible_collections.cutover.deploy.plugins.module_utils._state import recorded_entry
    record = dict(image=None, strategy=None, kind='deploy', initiator='ops', notes=None, commit_sha='abc', rollout='r-1')
    started = dict(name='shop_app_2', image_id='sha256:1', upstream='127.0.0.1:40001')
    entry = recorded_entry(record, 'compose:shop', 'blue-green', started, 'compose-1a2b', 8080, '2026-12-07T08:00:00Z')
    assert entry == dict(image='compose:shop', image_id='sha256:1', release_id='compose-1a2b', container='shop_app_2',
                         upstream='127.0.0.1:40001', container_port=8080, strategy='blue-green', kind='deploy',
                         initiator='ops', notes=None, commit_sha='abc', rollout='r-1', started='2026-12-07T08:00:00Z')
    # what the record says wins over the step's own image and strategy (a rollback records the tag, not the id)
    given = recorded_entry(dict(record, image='web:2', strategy='canary'), 'sha256:2', 'blue-green', started, 'r', 80, 't')
    assert (given['image'], given['strategy']) == ('web:2', 'canary')
