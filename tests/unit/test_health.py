from ansible_collections.cutover.deploy.plugins.module_utils import _health as h


def test_http_verdict():
    assert h.http_verdict(200, 'ok', [200])[0]
    assert h.http_verdict(204, '', [200, 204])[0]
    ok, detail = h.http_verdict(503, 'starting', [200])
    assert not ok and '503' in detail
    assert not h.http_verdict(200, 'starting', [200], body_regex='^ready')[0]
    assert h.http_verdict(200, 'ready: yes', [200], body_regex='^ready')[0]


def test_container_verdict():
    assert h.container_verdict({'Status': 'running'}) is None
    assert 'exit code 3' in h.container_verdict({'Status': 'exited', 'ExitCode': 3})
    assert 'restarting' in h.container_verdict({'Status': 'running', 'Restarting': True})
    assert 'restarted' in h.container_verdict({'Status': 'running', 'RestartCount': 2}, restarts_at_start=1)


def test_resolve_kind():
    assert h.resolve_kind('auto', True, True, True) == 'http'
    assert h.resolve_kind('auto', False, True, True) == 'tcp'
    assert h.resolve_kind('auto', False, False, True) == 'healthcheck'
    assert h.resolve_kind('auto', False, False, False) == 'liveness'
    assert h.resolve_kind('tcp', True, False, False) == 'tcp'


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.now += s


def gate(probes, states=None, timeout=10, successes=1, window=None):
    clock = FakeClock()
    probes = list(probes)
    states = states or (lambda: {'Status': 'running'})
    probe = (lambda: probes.pop(0) if len(probes) > 1 else probes[0]) if probes else None
    return h.run_gate(probe, states, clock, clock.sleep, timeout, 1, successes, window), clock


def test_gate_needs_consecutive_successes():
    res = gate([(True, 'a'), (False, 'b'), (True, 'c'), (True, 'd')], successes=2)[0]
    assert res['passed'] and res['attempts'] == 4


def test_gate_times_out_with_last_probe():
    res, clock = gate([(False, 'status 503')], timeout=5)
    assert not res['passed'] and 'within 5' in res['reason'] and res['last_probe'] == 'status 503'
    assert clock.now == 5


def test_gate_fails_fast_when_container_exits():
    calls = []

    def states():
        calls.append(1)
        return {'Status': 'running'} if len(calls) < 3 else {'Status': 'exited', 'ExitCode': 3}
    res, clock = gate([(False, 'refused')], states=states, timeout=60)
    assert not res['passed'] and 'exit code 3' in res['reason'] and clock.now < 5


def test_liveness_window():
    res, clock = gate([], timeout=1, window=3)
    assert res['passed'] and clock.now == 3


def test_body_match_cannot_outlast_its_timeout():
    import time
    from ansible_collections.cutover.deploy.plugins.module_utils._health import bounded_search, http_verdict
    start = time.monotonic()
    # catastrophic backtracking: minutes of CPU in plain re.search
    assert bounded_search(r'(a+)+$', 'a' * 40 + 'b', 0.3) is None
    assert time.monotonic() - start < 5
    assert bounded_search('ready', 'app ready', 1) is True
    assert bounded_search('ready', 'booting', 1) is False
    ok, detail = http_verdict(200, 'a' * 40 + 'b', [200], r'(a+)+$', lambda p, t: bounded_search(p, t, 0.2))
    assert not ok and 'did not finish' in detail
