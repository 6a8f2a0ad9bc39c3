"""The metrics file: valid Prometheus text (checked with prometheus_client's parser), counters that
follow the releases' outcomes and outlive history trimming, and the last run's durations."""

from __future__ import annotations

import calendar
import time

from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.cutover.deploy.plugins.module_utils._metrics import clean_steps, render
from ansible_collections.cutover.deploy.plugins.module_utils._state import (
    begin_release, finish_release, mark_live, new_state,
)


def samples(text):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def deploy(state, outcome, started, finished, kind='deploy', limit=100):
    state, number = begin_release(state, dict(kind=kind, image='web:%d' % len(state['history']), started=started),
                                  history_limit=limit)
    if outcome == 'succeeded':
        return mark_live(state, number, 'web-%d' % number, '127.0.0.1:%d' % (9000 + number), finished)
    return finish_release(state, number, outcome, finished, 'why')


def test_counters_follow_outcomes_and_the_file_parses():
    state = new_state('web')
    state = deploy(state, 'succeeded', '2026-11-23T10:00:00Z', '2026-11-23T10:00:12Z')
    state = deploy(state, 'failed', '2026-11-23T10:05:00Z', '2026-11-23T10:05:03Z')
    state = deploy(state, 'cancelled', '2026-11-23T10:06:00Z', '2026-11-23T10:06:02Z')
    state = deploy(state, 'succeeded', '2026-11-23T10:07:00Z', '2026-11-23T10:07:09Z')
    got = samples(render({'web': state}, {'web': {'gate': 1.25, 'swap': 0.002}}))
    total = 'cutover_releases_total'
    assert got[(total, (('kind', 'deploy'), ('outcome', 'succeeded'), ('service', 'web')))] == 2
    assert got[(total, (('kind', 'deploy'), ('outcome', 'failed'), ('service', 'web')))] == 1
    assert got[(total, (('kind', 'deploy'), ('outcome', 'cancelled'), ('service', 'web')))] == 1
    assert got[('cutover_live_release', (('service', 'web'),))] == 4
    assert got[('cutover_last_release_duration_seconds',
                (('kind', 'deploy'), ('outcome', 'succeeded'), ('service', 'web')))] == 9
    assert got[('cutover_last_success_timestamp_seconds', (('service', 'web'),))] == calendar.timegm((2026, 11, 23, 10, 7, 9, 0, 0, 0))
    assert got[('cutover_last_release_step_seconds', (('service', 'web'), ('step', 'gate')))] == 1.25


def test_counters_outlive_history_trimming():
    state = new_state('web')
    for i in range(5):
        state = deploy(state, 'succeeded', '2026-11-23T10:0%d:00Z' % i, '2026-11-23T10:0%d:05Z' % i, limit=2)
    assert len(state['history']) == 2
    got = samples(render({'web': state}, {}))
    assert got[('cutover_releases_total', (('kind', 'deploy'), ('outcome', 'succeeded'), ('service', 'web')))] == 5


def test_a_release_already_live_is_not_counted_twice():
    state = deploy(new_state('web'), 'succeeded', '2026-11-23T10:00:00Z', '2026-11-23T10:00:05Z')
    again = mark_live(state, 1, 'web-1', '127.0.0.1:9001', '2026-11-23T10:01:00Z')
    assert again['totals'] == state['totals'] == {'deploy': {'succeeded': 1}}


def test_several_services_and_nothing_yet():
    assert render({}, {}) == ''
    web = deploy(new_state('web'), 'succeeded', '2026-11-23T10:00:00Z', '2026-11-23T10:00:05Z')
    api = deploy(new_state('api'), 'failed', '2026-11-23T10:00:00Z', '2026-11-23T10:00:05Z')
    text = render({'web': web, 'api': api}, {})
    got = samples(text)
    assert ('cutover_live_release', (('service', 'api'),)) not in got
    assert got[('cutover_releases_total', (('kind', 'deploy'), ('outcome', 'failed'), ('service', 'api')))] == 1
    assert text.count('# TYPE cutover_releases_total counter') == 1


def test_steps_that_did_not_run_are_left_out():
    assert clean_steps({'gate': '1.5', 'swap': None, 'drain': ''}) == {'gate': 1.5}
    try:
        clean_steps({'gate': 'soon'})
    except ValueError as exc:
        assert 'steps.gate' in str(exc)
    else:
        raise AssertionError('a bad step was accepted')


def test_a_file_that_does_not_parse_leaves_only_its_own_service_out(tmp_path):
    """publish() on a real state directory: another service's corrupt state file, and a steps file that is not
    JSON, each leave their own service out with the file named; this service's metrics are still written."""
    from ansible_collections.cutover.deploy.plugins.module_utils._metrics import publish  # pylint: disable=import-outside-toplevel
    from ansible_collections.cutover.deploy.plugins.module_utils._state import write_state_atomic  # pylint: disable=import-outside-toplevel
    state_dir, path = tmp_path / 'state', tmp_path / 'cutover.prom'
    state_dir.mkdir()
    write_state_atomic(str(state_dir), 'web', deploy(new_state('web'), 'succeeded', '2026-11-23T10:00:00Z',
                                                     '2026-11-23T10:00:05Z'))
    write_state_atomic(str(state_dir), 'api', deploy(new_state('api'), 'succeeded', '2026-11-23T10:00:00Z',
                                                     '2026-11-23T10:00:05Z'))
    (state_dir / 'other.json').write_text('{not json')
    changed, _before, after, services, skipped = publish(str(path), str(state_dir), 'web', {'gate': 1.5}, False)
    assert changed and services == ['api', 'web'] and sorted(skipped) == ['other']
    assert 'other.json' in skipped['other']
    assert path.read_text() == after and ('cutover_live_release', (('service', 'web'),)) in samples(after)

    bad_steps = state_dir / 'metrics' / 'api.steps.json'
    bad_steps.write_text('[1, 2')
    _changed, _before, after, services, skipped = publish(str(path), str(state_dir), 'web', {}, False)
    assert services == ['web'] and sorted(skipped) == ['api', 'other'] and str(bad_steps) in skipped['api']
    assert ('cutover_live_release', (('service', 'api'),)) not in samples(after)


def test_a_certificate_s_expiry_is_published_for_the_service_that_serves_it():
    from ansible_collections.cutover.deploy.plugins.module_utils._proxy.front_door import (
        certificate_not_after, certificate_record)
    from tests.tls import self_signed
    cert = self_signed('app.example.com', days=10)[0]
    not_after = certificate_not_after(cert)
    assert abs(not_after - (calendar.timegm(time.gmtime()) + 10 * 86400)) < 600
    assert certificate_not_after('-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n') is None
    state = dict(new_state('web'), certificate=certificate_record('/etc/c.pem', ['app.example.com'], not_after))
    got = samples(render({'web': state, 'api': new_state('api')}, {}))
    expiry = [(k, v) for k, v in got.items() if k[0] == 'cutover_tls_certificate_expiry_timestamp_seconds']
    assert expiry == [(('cutover_tls_certificate_expiry_timestamp_seconds', (('hosts', 'app.example.com'), ('service', 'web'))),
                       not_after)]
