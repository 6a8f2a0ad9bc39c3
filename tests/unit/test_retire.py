"""Retiring: the replaced container's stop off the critical path (pure decisions)."""

import pytest

from ansible_collections.cutover.deploy.plugins.module_utils import _retire as rt
from ansible_collections.cutover.deploy.plugins.module_utils._engine import is_running
from ansible_collections.cutover.deploy.plugins.module_utils import _state as st


def c(name, running=True):
    return dict(name=name, id=name + '0' * 20, upstream='u-' + name, running=running, created=name)


def test_add_retiring_records_a_deadline_past_the_stop_timeout_and_replaces_an_entry():
    s = rt.add_retiring(st.new_state('web'), ['web-a'], False, 10, now=1000)
    assert s['retiring'] == [dict(container='web-a', deadline=1000 + 10 + rt.DEADLINE_MARGIN, remove=False)]
    s = rt.add_retiring(s, ['web-a', 'web-b'], True, 2, now=2000)
    assert [(e['container'], e['remove'], e['deadline']) for e in s['retiring']] == [
        ('web-a', True, 2007), ('web-b', True, 2007)]
    assert 'retiring' not in rt.add_retiring(st.new_state('web'), [], True, 2, now=1)


def test_plan_retiring_sorts_entries_by_what_the_engine_shows():
    s = rt.add_retiring(st.new_state('web'), ['gone', 'stopped', 'slow', 'stuck'], False, 10, now=1000)
    s['retiring'][3]['deadline'] = 1005  # stuck: its deadline has passed
    plan = rt.plan_retiring(s, [c('stopped', running=False), c('slow'), c('stuck')], now=1010)
    assert [e['container'] for e in plan['done']] == ['gone', 'stopped']
    assert [e['container'] for e in plan['force']] == ['stuck']
    assert [e['container'] for e in plan['waiting']] == ['slow']


def test_removing_names_are_the_entries_a_helper_removes_once_stopped():
    s = rt.add_retiring(st.new_state('web'), ['kept'], False, 10, now=1000)
    s = rt.add_retiring(s, ['doomed'], True, 10, now=1000)
    assert rt.retiring_names(s) == ['kept', 'doomed']
    assert rt.removing_names(s) == ['doomed']  # a deploy of its release again makes a new container
    assert rt.removing_names(st.new_state('web')) == []


def live_state(*succeeded):
    s = dict(service='web', live=dict(container='web-new', upstream='u-web-new', number=9), history=[
        dict(number=i + 1, outcome='succeeded', container=name) for i, name in enumerate(succeeded)])
    s['history'].append(dict(number=9, outcome='succeeded', container='web-new'))
    return s


def test_reconcile_never_takes_a_retiring_container_for_an_orphan():
    s = rt.add_retiring(live_state(), ['web-old'], True, 10, now=1000)
    plan = st.plan_reconcile(s, [c('web-new'), c('web-old')], 'u-web-new', now=1001)
    assert plan['remove'] == [] and plan['retire'] == []


def test_reconcile_retires_a_running_good_release_instead_of_removing_it():
    # killed after the persist and before the old one was retired: it is kept for rollback, stopped
    plan = st.plan_reconcile(live_state('web-old'), [c('web-new'), c('web-old'), c('web-green')], 'u-web-new', now=1)
    assert plan['retire'] == ['web-old'] and plan['remove'] == ['web-green']


@pytest.mark.parametrize('state, running', [
    ({'Running': True, 'Status': 'running'}, True),
    ({'Running': False, 'Status': 'stopping'}, True),  # Podman, its graceful stop under way: it cannot be started yet
    ({'Running': False, 'Status': 'exited'}, False),
    ({}, False),
    (None, False),
])
def test_a_container_runs_until_its_stop_has_ended_on_either_engine(state, running):
    assert is_running(state) is running
