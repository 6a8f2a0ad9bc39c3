"""The canary's settings checks and its verdict on one step (pure functions)."""

from __future__ import annotations

import pytest

from ansible_collections.cutover.deploy.plugins.module_utils import _canary as c
from ansible_collections.cutover.deploy.plugins.module_utils._validate import canary_errors


def row(**counts):
    return {k: str(v) for k, v in counts.items()}


def test_settings_errors_name_the_field_and_the_valid_values():
    assert canary_errors({}) == []
    assert canary_errors({'steps': [5, 25, 50], 'interval': 10, 'min_requests': 0}) == []
    errors = canary_errors({'steps': [50, 10], 'interval': 0, 'min_success_rate': 101, 'weight': 3})
    text = ' | '.join(errors)
    assert "unknown keys ['weight']" in text
    assert 'cutover_canary.steps [50, 10] is invalid: use increasing whole percentages of 1-99' in text
    assert 'cutover_canary.interval 0 is invalid: use a number above 0' in text
    assert 'cutover_canary.min_success_rate 101 is invalid' in text and 'at most 100' in text
    for steps in ([], [0], [100], [10, 10], [12.5], 'ten', [True]):
        assert any('steps' in e for e in canary_errors({'steps': steps})), steps
    assert canary_errors([10, 50]) == ['cutover_canary must be a mapping with the keys ' + ', '.join(c.DEFAULTS)]


def test_step_traffic_is_the_delta_and_counts_unanswered_requests_as_errors():
    before = c.counters(row(hrsp_2xx=100, hrsp_5xx=1, econ=0))
    after = c.counters(row(hrsp_2xx=190, hrsp_5xx=6, eresp=2, econ=2))
    t = c.step_traffic(before, after, 4)
    assert t == dict(requests=99, errors=9, http_5xx=5, no_answer=4, success_rate=90.91, response_ms=4)
    # the proxy restarted between the readings: its counters start from zero again
    assert c.step_traffic(after, c.counters(row(hrsp_2xx=10)))['requests'] == 10


def test_judge_step_against_the_thresholds_and_blue():
    settings = c.with_defaults({})
    good = dict(requests=100, errors=0, http_5xx=0, no_answer=0, success_rate=100.0, response_ms=3)
    bad = dict(good, errors=20, http_5xx=20, success_rate=80.0)
    assert c.judge_step(10, good, good, settings)['passed']
    verdict = c.judge_step(10, good, bad, settings)
    assert not verdict['passed'] and 'below min_success_rate 99.00' in verdict['reasons'][0]
    assert 'below blue' in verdict['reasons'][1]
    assert verdict['summary'] == '10 %: green 80.00 % of 100 requests ok (20 errors), 3 ms, blue 100.00 % of 100 requests ok (0 errors), 3 ms'
    # green no worse than a blue that fails as often passes the comparison, not the floor
    low = c.with_defaults({'min_success_rate': 50})
    assert c.judge_step(10, bad, bad, low)['passed']
    quiet = dict(good, requests=3)
    assert 'fewer than min_requests 10' in c.judge_step(10, good, quiet, settings)['reasons'][0]
    assert c.judge_step(10, good, dict(good, requests=0, success_rate=None), c.with_defaults({'min_requests': 0}))['passed']
    slow = dict(good, response_ms=900)
    assert 'above max_response_ms 500' in c.judge_step(10, good, slow, settings)['reasons'][0]


@pytest.mark.parametrize('current, target, expected', [
    # a first step: green (at 0) is raised before blue is lowered
    ({'a': 100, 'b': 0}, {'a': 90, 'b': 10}, [('b', 10), ('a', 90)]),
    # replicas: every green before any blue, each side in its given order
    ({'a': 100, 'a2': 100, 'b': 0, 'b2': 0}, {'a': 70, 'a2': 70, 'b': 60, 'b2': 60},
     [('b', 60), ('b2', 60), ('a', 70), ('a2', 70)]),
    # a later step, and a server already at its weight (no command for it)
    ({'a': 90, 'b': 10, 'c': 50}, {'a': 50, 'b': 50, 'c': 50}, [('b', 50), ('a', 50)]),
    # standing down: green lowered to 0 is all that changes when blue is already full
    ({'a': 100, 'b': 10}, {'b': 0}, [('b', 0)]),
])
def test_weight_changes_raise_before_they_lower(current, target, expected):
    changes = c.weight_changes(current, target)
    assert changes == expected
    # the backend's total weight never falls below where it starts or ends (HAProxy's round robin)
    weights, floor = dict(current), min(sum(current.values()), sum(dict(current, **target).values()))
    for name, weight in changes:
        weights[name] = weight
        assert sum(weights.values()) >= floor


def test_step_weights_keep_the_hosts_full_weight():
    assert c.step_weights(10) == (90, 10)
    assert c.step_weights(50, full=256) == (128, 128)


def test_a_pipe_nobody_reads_is_noticed():
    """How a canary left running over SSH notices its session is gone: its stdout pipe has no reader."""
    import os  # pylint: disable=import-outside-toplevel
    from ansible_collections.cutover.deploy.plugins.module_utils._lock import output_unread  # pylint: disable=import-outside-toplevel
    read_end, write_end = os.pipe()
    try:
        assert output_unread(write_end) is False
        os.close(read_end)
        assert output_unread(write_end) is True
    finally:
        os.close(write_end)
