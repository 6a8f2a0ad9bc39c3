"""A rollout across an inventory: where it stands, its report, the fleet table and its drift."""

import pytest

from ansible_collections.cutover.deploy.plugins.module_utils._rollout import (
    fleet_table, rollout_reach, rollout_report, rollout_status, same_image,
)

HOSTS = ['a', 'b', 'c', 'd']


def test_no_outcome_yet_is_neither_failed_nor_stopped():
    status = rollout_status(HOSTS, {}, 0)
    assert status['failed'] == [] and not status['stopped']


def test_one_failure_stops_at_zero_percent_with_its_reason():
    status = rollout_status(HOSTS, {'a': dict(status='moved'), 'b': dict(status='failed', reason='gate: 503')}, 0)
    assert status['moved'] == ['a'] and status['failed'] == ['b'] and status['stopped']
    assert status['reasons'] == {'b': 'gate: 503'} and status['failed_percent'] == 25.0


@pytest.mark.parametrize('tolerated, stopped', [(25, False), (24.9, True), (100, False)])
def test_failures_are_counted_over_the_whole_rollout(tolerated, stopped):
    outcomes = {'a': dict(status='failed', reason='unreachable')}
    assert rollout_status(HOSTS, outcomes, tolerated)['stopped'] is stopped


def test_at_the_end_a_host_without_outcome_was_lost_mid_deploy():
    outcomes = {'a': dict(status='moved'), 'b': dict(status='moved'), 'c': dict(status='unchanged')}
    assert rollout_status(HOSTS, outcomes, 0)['failed'] == []
    final = rollout_status(HOSTS, outcomes, 0, final=True)
    assert final['failed'] == ['d'] and 'unreachable' in final['reasons']['d'] and final['stopped']


def test_report_names_failed_and_skipped_hosts_and_the_action():
    status = rollout_status(HOSTS, {'a': dict(status='moved'), 'b': dict(status='failed', reason='gate: 503'),
                                    'c': dict(status='skipped', reason='the rollout had stopped'),
                                    'd': dict(status='skipped', reason='the rollout had stopped')}, 0)
    lines = rollout_report(status, 'r1', 'rollback')
    assert lines[0] == 'rollout r1: 1 moved, 0 unchanged, 1 failed (25.0%), 2 not attempted'
    assert '  failed b: gate: 503' in lines and '  not attempted c: the rollout had stopped' in lines
    assert 'rolled back' in lines[-1]
    assert 'keep the new release' in rollout_report(status, 'r1', 'stop')[-1]


def summary(image, number=1, rollout='r1', started='2026-01-01T00:00:00Z', outcome='succeeded'):
    return dict(live_number=number, image=image, since=started, release_id='x', last_number=number,
                last_outcome=outcome, last_rollout=rollout, last_started=started)


def test_fleet_table_no_drift_across_engines():
    rows = [dict(host='a', engine='docker', summary=summary('web:2')),
            dict(host='b', engine='podman', summary=summary('localhost/web:2'))]
    table = fleet_table(rows)
    assert not table['drift'] and len(table['lines']) == 1 + 2 + 1
    assert table['lines'][-1] == 'newest rollout r1 reached a, b; not reached: none'


def test_fleet_table_flags_drift_and_a_host_that_did_not_answer():
    rows = [dict(host='a', engine='docker', summary=summary('web:2', 2, 'r2', '2026-01-02T00:00:00Z')),
            dict(host='b', engine='docker', summary=summary('web:1')),
            dict(host='c', engine=None, summary=None)]
    table = fleet_table(rows)
    assert table['drift'] and table['releases'] == {'web:2': ['a'], 'web:1': ['b']}
    assert any('(no answer)' in line for line in table['lines'])
    assert 'DRIFT: 2 releases live across the fleet: web:1 on b; web:2 on a' in table['lines']
    assert table['rollout'] == dict(rollout='r2', reached=['a'], not_reached=['b', 'c'])


def test_a_failed_newest_release_shows_its_number():
    rows = [dict(host='a', engine='docker', summary=dict(summary('web:1'), last_number=2, last_outcome='failed'))]
    assert 'failed #2' in fleet_table(rows)['lines'][1]


def test_rollout_reach_without_any_rollout_is_none():
    assert rollout_reach([dict(host='a', summary=None)]) is None
    assert same_image('localhost/web:1') == same_image('web:1') == 'web:1'
