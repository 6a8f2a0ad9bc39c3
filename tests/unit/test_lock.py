"""The deploy lock's file protocol, on a real folder (no daemon needed)."""

import json
import os
import threading

from ansible_collections.cutover.deploy.plugins.module_utils import _lock


def test_create_is_atomic_and_exclusive(tmp_path):
    path = str(tmp_path / 'web.lock')
    rec = _lock.make_record('run-1', 'me', 60, 100.0)
    assert _lock.try_create(path, rec)
    assert not _lock.try_create(path, _lock.make_record('run-2', 'other', 60, 100.0))
    assert _lock.read_holder(path)['run_id'] == 'run-1'
    assert [p for p in os.listdir(tmp_path) if p.endswith('.new')] == []  # no temp files left


def test_release_removes_only_our_record(tmp_path):
    path = str(tmp_path / 'web.lock')
    _lock.try_create(path, _lock.make_record('run-1', 'me', 60, 100.0))
    assert not _lock.release(path, 'run-2')
    assert os.path.exists(path)
    assert _lock.release(path, 'run-1')
    assert not os.path.exists(path)


def test_renew_extends_only_our_lease(tmp_path):
    path = str(tmp_path / 'web.lock')
    _lock.try_create(path, _lock.make_record('run-1', 'me', 5, 100.0))
    assert _lock.renew(path, 'run-2', 50) is None
    record = _lock.renew(path, 'run-1', 50, now=200.0)
    assert record['expires'] == 250.0 and json.loads(open(path).read())['expires'] == 250.0


def test_two_breakers_of_one_stale_lock_never_both_win(tmp_path):
    path = str(tmp_path / 'web.lock')
    stale = dict(run_id='dead', holder='x', since=0, expires=0)
    with open(path, 'w') as f:
        json.dump(stale, f)
    seen = _lock.read_holder(path)
    wins = []

    def breaker(run_id):
        if _lock.break_if_unchanged(path, seen) and _lock.try_create(path, _lock.make_record(run_id, run_id, 60, 1.0)):
            wins.append(run_id)
    threads = [threading.Thread(target=breaker, args=('run-%d' % i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert _lock.read_holder(path)['run_id'] == wins[0]


def test_a_renewed_record_is_not_broken(tmp_path):
    path = str(tmp_path / 'web.lock')
    _lock.try_create(path, _lock.make_record('run-1', 'me', 1, 0.0))
    seen = _lock.read_holder(path)
    _lock.renew(path, 'run-1', 60)
    assert not _lock.break_if_unchanged(path, seen)
    assert _lock.read_holder(path)['run_id'] == 'run-1'


def test_play_process_ignores_sshd():
    # this test process runs under pytest, not ansible-playbook: no play process, whatever sshd is above
    assert _lock.play_process() is None


def test_a_wall_clock_jump_neither_breaks_nor_keeps_a_lease():
    """In the boot a lease was renewed in, it runs on the monotonic clock: a date set hours ahead does not
    make a live run's lock breakable, nor one set back keep a dead run's lock."""
    record = dict(_lock.make_record('run-1', 'me', 60, 1000.0), process=None, boot_id='b1', renewed_monotonic=500.0)
    hours_later = 1000.0 + 7200
    assert _lock.lock_verdict(record, hours_later, 'b1', monotonic_now=530.0)[0] == 'held'
    assert _lock.lock_verdict(record, 1000.0 - 7200, 'b1', monotonic_now=561.0)[0] == 'stale'
    # another boot, or a record from before this field: the boot id and the wall clock decide, as before
    assert _lock.lock_verdict(record, 1030.0, 'b2', monotonic_now=530.0)[0] == 'stale'
    old = {k: v for k, v in record.items() if k != 'renewed_monotonic'}
    assert _lock.lock_verdict(old, hours_later, 'b1', monotonic_now=530.0)[0] == 'stale'


def test_the_lease_is_renewed_while_a_long_call_runs(tmp_path):
    """LeaseKeeper.held_while renews in the background (every third of the lease, at least 1 s) and fails
    the module after the call if the lock was lost meanwhile."""
    import time  # pylint: disable=import-outside-toplevel
    from ansible_collections.cutover.deploy.plugins.module_utils._module import LeaseKeeper  # pylint: disable=import-outside-toplevel

    class Module:
        check_mode = False

        def __init__(self):
            self.params = dict(lease=dict(state_dir=str(tmp_path), service='web', run_id='run-1', seconds=3))
            self.failed = None

        def fail_json(self, msg):
            self.failed = msg
            raise SystemExit(1)

    path = _lock.lock_path(str(tmp_path), 'web')
    _lock.try_create(path, _lock.make_record('run-1', 'me', 3, time.time()))
    first = _lock.read_holder(path)['renewed_monotonic']
    module = Module()
    with LeaseKeeper(module).held_while('a long pull'):
        time.sleep(2.5)  # longer than one renewal period (1 s here)
        assert _lock.read_holder(path)['renewed_monotonic'] > first
    assert module.failed is None
    try:
        with LeaseKeeper(module).held_while('a long pull'):
            _lock.release(path, 'run-1')
            time.sleep(1.5)
    except SystemExit:
        pass
    assert module.failed and 'lost the deploy lock of web while a long pull ran' in module.failed
