"""Release safety, the pure parts: the release command's settings, argv, labels, masked logs and verdict, and the
watch's settings and verdict (tables); the settings step's refusals of a watch it cannot keep."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.cutover.deploy.plugins.module_utils import _canary as c
from ansible_collections.cutover.deploy.plugins.module_utils import _release_command as rc
from ansible_collections.cutover.deploy.plugins.module_utils import _settings as st
from ansible_collections.cutover.deploy.plugins.module_utils._checks import release_command_error
from ansible_collections.cutover.deploy.plugins.module_utils._validate import deploy_input_errors, watch_errors

NOW = datetime.datetime(2026, 12, 7, 4, 0, 0, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize('command', ['bin/rails db:migrate', ['python', 'manage.py', 'migrate'], 'exit 0'])
def test_release_commands_accepted(command):
    assert release_command_error('cutover_release_command', command) is None


@pytest.mark.parametrize('command', ['', '   ', [], [''], ['ok', 3], 7, {'cmd': 'x'}, True])
def test_release_commands_refused_naming_the_field_and_the_forms(command):
    err = release_command_error('cutover_release_command', command)
    assert err.startswith('cutover_release_command ') and 'a string, run by sh -c' in err and 'list of strings' in err


def test_a_release_command_with_a_compose_source_is_refused():
    errors = deploy_input_errors(dict(service='web', release_command='migrate',
                                      source=dict(type='compose', files=['compose.yml'], service='web')))
    assert any('cutover_release_command runs a one-off container' in e and 'compose' in e for e in errors)


def test_a_string_runs_through_the_shell_and_a_list_as_given():
    assert rc.command_argv('a && b') == ['sh', '-c', 'a && b']
    assert rc.command_argv(['python', '-c', 'print(1)']) == ['python', '-c', 'print(1)']


def test_the_one_off_container_is_never_taken_for_a_release_of_the_service():
    labels = rc.command_labels('web', {'DB_PASSWORD': 'x', 'API_KEY': 'y'})
    assert labels[rc.LABEL_RELEASE_COMMAND] == 'web' and 'io.cutover.service' not in labels
    assert labels['io.cutover.secret-env'] == 'API_KEY,DB_PASSWORD'  # names only
    assert rc.container_name('web', 0x19a4c3b2f01) == 'web-release-19a4c3b2f01'


def test_the_logs_keep_the_last_lines_with_secret_values_masked():
    text = '\n'.join('line %d' % i for i in range(30)) + '\nconnecting with hunter22\n'
    lines = rc.last_lines(text, {'DB_PASSWORD': 'hunter22'})
    assert len(lines) == rc.LOG_LINES and lines[-1] == 'connecting with ********' and lines[0] == 'line 11'


@pytest.mark.parametrize('outcome, passed, words', [
    (dict(exit_code=0, timed_out=False, seconds=1.25, logs=['done']), True, ['succeeded in 1.2 s']),
    (dict(exit_code=3, timed_out=False, seconds=0.5, logs=['a', 'b', 'c', 'd', 'e', 'f']), False,
     ['exited 3 after 0.5 s', 'last lines: b | c | d | e | f']),
    (dict(exit_code=137, timed_out=True, seconds=2.0, timeout=2.0, logs=[]), False,
     ['past its timeout of 2 s and was killed', 'it printed nothing']),
    (dict(exit_code=137, timed_out=False, stopped='nobody reads', seconds=2.0, logs=[]), False, ['was stopped: nobody reads']),
])
def test_the_verdict_names_the_exit_code_the_timeout_and_the_last_lines(outcome, passed, words):
    ok, message = rc.verdict(outcome)
    assert ok is passed
    for w in words:
        assert w in message, message


@pytest.mark.parametrize('watch', [{}, dict(seconds=30), dict(seconds=0.5, min_success_rate=100, max_response_ms=50, min_requests=0)])
def test_watch_settings_accepted(watch):
    assert watch_errors(watch) == []


@pytest.mark.parametrize('watch, words', [
    (dict(seconds=0), 'cutover_watch.seconds 0 is invalid: use a number above 0 and at most 86400'),
    (dict(seconds=90000), 'cutover_watch.seconds 90000 is invalid'),
    (dict(min_success_rate=101), 'cutover_watch.min_success_rate 101 is invalid: use a number of at least 0 and at most 100'),
    (dict(max_response_ms='fast'), "cutover_watch.max_response_ms 'fast' is invalid"),
    (dict(min_requests=2.5), 'cutover_watch.min_requests 2.5 is invalid: use a whole number of at least 0'),
    (dict(window=30), "cutover_watch has unknown keys ['window'] (valid: seconds, min_success_rate, max_response_ms, min_requests)"),
    ([30], 'cutover_watch must be a mapping with the keys seconds, min_success_rate, max_response_ms, min_requests'),
])
def test_watch_settings_refused_naming_the_field_and_what_is_valid(watch, words):
    assert any(words in e for e in watch_errors(watch)), watch_errors(watch)


@pytest.mark.parametrize('kind', ['caddy', 'nginx', 'npm', 'none'])
def test_a_watch_without_haproxy_s_counters_is_refused(kind):
    errors = deploy_input_errors(dict(service='web', watch=dict(seconds=30), proxy=dict(type=kind)))
    assert any("cutover_watch reads HAProxy's per-server counters" in e and 'type %s' % kind in e for e in errors), errors


def test_a_watch_with_recreate_is_refused_and_its_seconds_count_in_the_lease():
    base = {k: spec.get('default') for k, spec in st.ARGUMENT_SPEC.items()}
    base.update(service='web', image='web:2', container_port=8080, host='app1', deploy=True,
                state_dir='/var/lib/cutover', numbers=dict(stop_timeout=10, drain_timeout=30))
    errors, _facts = st.resolve(dict(base, strategy='recreate', watch=dict(seconds=30)), NOW, 'ops')
    assert any('cutover_watch swaps back to the release it replaced' in e for e in errors)
    errors, facts = st.resolve(dict(base, strategy='blue-green', watch=dict(seconds=300)), NOW, 'ops')
    assert errors == [] and facts['_cutover_lock_lease'] == 30 + 2 * 10 + 60 + 300  # drain, two stops, a minute, the watch


def traffic(ok, errors, ms=5):
    before = c.counters({})
    return c.step_traffic(before, c.counters({'hrsp_2xx': ok, 'hrsp_5xx': errors}), ms)


SETTINGS = c.watch_settings(dict(seconds=20))


@pytest.mark.parametrize('t, status, final, decision, words', [
    (traffic(5, 5), 'UP', False, 'revert', 'success rate 50.00 %'),  # min_requests reached: judged at once
    (traffic(4, 5), 'UP', False, 'watch', ''),                       # 9 requests: not judged yet
    (traffic(90, 10), 'UP', False, 'revert', 'success rate 90.00 % is below min_success_rate 99.00 % (10 errors in 100 requests)'),
    (traffic(0, 0), 'DOWN 1/2', False, 'revert', "HAProxy's health check marks the new release DOWN 1/2"),
    (traffic(1000, 1), 'UP', False, 'watch', ''),
    (traffic(1000, 1), 'UP', True, 'keep', ''),
    (traffic(1000, 0, ms=900), 'UP', False, 'watch', ''),          # response time judged at the end only
    (traffic(1000, 0, ms=900), 'UP', True, 'revert', 'average response time 900 ms is above max_response_ms 500'),
    (traffic(3, 3), 'UP', True, 'keep', 'only 6 requests in 20 s, fewer than min_requests 10: too few to judge, kept'),
])
def test_the_watch_reverts_on_errors_or_a_down_check_and_keeps_a_good_release(t, status, final, decision, words):
    got, reasons = c.judge_watch(t, status, SETTINGS, final)
    assert got == decision
    assert words in ' '.join(reasons)
