"""Canary on HAProxy, end to end: playbooks/deploy.yml with cutover_strategy canary on the local Docker
engine, under bounded non-retrying load on loopback. A good v2 is promoted through every step; a v3
that answers 500 to every 5th request is stopped at the first step, taken out and removed."""

from __future__ import annotations

import time

from bench.loadgen import Load
from tests.proxies import get_body
from tests.sites import assert_ok

CANARY = dict(steps=[10, 50], interval=4)
ANALYSIS = 'Send green its canary share of requests, step by step, and judge it'


def test_canary_promotes_a_good_release_and_rolls_back_a_bad_one(docker_site):
    s = docker_site
    assert_ok(s.deploy('v1'))
    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=40000, max_seconds=90, rate=100) as load:
        load.wait_for(50)
        good = s.deploy('v2', cutover_strategy='canary', cutover_canary=CANARY)
        load.wait_for(50)
    assert_ok(good)
    steps = good.task(ANALYSIS)['result']['steps']
    assert [(st['weight'], st['passed']) for st in steps] == [(10, True), (50, True)], steps
    # green's share of the requests follows its weight (loose bounds: a few hundred requests per step)
    shares = [st['green']['requests'] / float(st['green']['requests'] + st['blue']['requests']) for st in steps]
    assert 0.02 < shares[0] < 0.25 and 0.3 < shares[1] < 0.7, shares
    assert load.summary()['failed'] == 0, load.summary()
    assert get_body(s.port) == 'demoapp v2'
    entry = s.state()['history'][-1]
    assert (entry['strategy'], entry['outcome']) == ('canary', 'succeeded')
    v2 = s.state()['live']['container']

    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=40000, max_seconds=90, rate=100) as load:
        load.wait_for(50)
        started = time.monotonic()
        bad = s.deploy('v3', cutover_strategy='canary', cutover_canary=CANARY, cutover_public_env={'FAIL_EVERY': '5'})
        seconds = time.monotonic() - started
        load.wait_for(50)
    assert bad.rc != 0
    assert 'canary analysis failed at 10 %' in bad.stdout, bad.stdout[-3000:]
    steps = bad.task(ANALYSIS)['result']['steps']
    assert len(steps) == 1 and not steps[0]['passed'] and steps[0]['green']['http_5xx'] > 0, steps
    assert get_body(s.port) == 'demoapp v2' and s.running() == [v2]
    entry = s.state()['history'][-1]
    assert (entry['strategy'], entry['outcome']) == ('canary', 'rolled_back'), entry
    assert '10 %: green' in entry['reason'] and 'blue 100.00 %' in entry['reason'], entry['reason']
    summary = load.summary()
    seen = summary['failed']
    step = steps[0]
    # the clients saw green's 500s of the first step only: at most its share of one step's requests
    # (plus the few answered between the step's last reading and its weight going to 0)
    bound = step['green']['requests'] + 20
    print('canary stopped a bad release at 10 %% in %.1f s: clients saw %d failed of %d requests (green answered %d '
          'in the step, %d of them 500); bound %d' % (seconds, seen, summary['requests'], step['green']['requests'],
                                                      step['green']['http_5xx'], bound))
    assert 0 < seen <= bound, (summary, step)
    assert set(summary['errors']) <= {'HTTP 500'}, summary


def canary_processes(record):
    """pids of the canary modules a playbook started with this CUTOVER_RECORD runs (their environment says so)."""
    import glob  # pylint: disable=import-outside-toplevel
    found = []
    for cmdline in glob.glob('/proc/[0-9]*/cmdline'):
        try:
            with open(cmdline, 'rb') as f:
                if b'AnsiballZ_canary' not in f.read():
                    continue
            with open(cmdline.replace('cmdline', 'environ'), 'rb') as f:
                if ('CUTOVER_RECORD=%s' % record).encode() in f.read().split(b'\0'):
                    found.append(int(cmdline.split('/')[2]))
        except OSError:
            continue
    return found


def test_a_killed_canary_stands_down_at_once(docker_site, tmp_path):
    """SIGKILL of the whole play (its process group) in the middle of a long canary step: the module, left
    running on the host in the worker's session, notices within a second that its play is gone, gives green
    weight 0 and blue its full weight back, and ends, instead of weighting green until its step would end.
    The next status run removes green."""
    import os  # pylint: disable=import-outside-toplevel
    import signal  # pylint: disable=import-outside-toplevel
    from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import HAProxy, slot_role  # pylint: disable=import-outside-toplevel
    from tests.helpers import run_playbook, start_playbook  # pylint: disable=import-outside-toplevel
    from tests.sites import DEPLOY, STATUS  # pylint: disable=import-outside-toplevel
    s = docker_site
    assert_ok(s.deploy('v1'))
    v1 = s.state()['live']['container']
    haproxy = HAProxy(s.proxy['admin_socket'])

    def serving_weights():
        return sorted(slot['weight'] for slot in haproxy.slots(s.service) if slot_role(slot) == 'serving')

    full = serving_weights()[0]
    record = tmp_path / 'record.jsonl'
    with (tmp_path / 'deploy.log').open('w') as out:
        deploy = start_playbook(DEPLOY, record, dict(s.vars, cutover_image=s.engine.image('v2'), cutover_strategy='canary',
                                                     cutover_canary=dict(steps=[50], interval=120)), log=out)
        end = time.monotonic() + 120
        while time.monotonic() < end and not (len(serving_weights()) == 2 and 0 not in serving_weights()):
            time.sleep(0.2)  # until green takes its 50 % beside blue
        assert len(serving_weights()) == 2 and 0 not in serving_weights(), serving_weights()
        assert canary_processes(record), 'no canary module found'
        os.killpg(deploy.pid, signal.SIGKILL)
        deploy.wait(30)
    end = time.monotonic() + 20
    while time.monotonic() < end and canary_processes(record):
        time.sleep(0.2)
    assert not canary_processes(record), 'the canary ran on after its play was killed'
    assert serving_weights() == [0, full]  # green gets no new requests, blue has its full weight
    assert get_body(s.port) == 'demoapp v1'
    assert_ok(run_playbook(STATUS, s.vars))
    assert s.running() == [v1] and get_body(s.port) == 'demoapp v1'
