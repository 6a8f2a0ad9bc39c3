# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-service deploy lock on a host.

The lock is a file `<service>.lock` holding a JSON record. Its rules:
- Creation is atomic: the full record is written to a temp file, then hard-linked into place
  (link fails if the lock exists), so a reader never sees a half-written record.
- The record is a lease: it expires `lease` seconds after it was last renewed, and every step of the
  run renews it (modules given the `lease` option). It also names the host's boot id: a lock from
  before a reboot is stale whatever its lease says.
- For a local connection it also names the ansible-playbook (or ansible-runner) process the run
  lives in; once that process is gone the lock is stale at once. Over SSH no process on the host
  lives as long as the play (each task may be its own connection, and a shared connection outlives
  a killed play), so the lease decides.
- Breaking a stale lock, renewing and releasing happen under a short flock guard with a re-check of
  the record, so two waiters never both break it, and a release removes only our own record.
"""

from __future__ import annotations

import json
import math
import os
import select
import sys
import tempfile
import time

from ansible_collections.cutover.deploy.plugins.module_utils._files import flocked, fsync_dir, write_atomic
from ansible_collections.cutover.deploy.plugins.module_utils._time import iso

PLAY_MARKERS = (b'ansible-playbook', b'ansible-runner')
GUARD_TIMEOUT = 10


def boot_id():
    try:
        with open('/proc/sys/kernel/random/boot_id') as f:
            return f.read().strip()
    except OSError:
        return None


def _stat(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[1]), fields[19]  # ppid, start time (clock ticks since boot)


def play_process(pid=None):
    """(pid, start_time) of the topmost ansible-playbook/ansible-runner ancestor, or None.

    Topmost, because ansible-playbook forks a short-lived worker per task with the same command
    line. None over SSH: the play's process is on the controller, not here.
    """
    pid = pid or os.getpid()
    found = None
    for step in range(64):  # bounded walk up the process tree  # pylint: disable=unused-variable
        try:
            ppid, start = _stat(pid)
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                argv = f.read().split(b'\0')
        except (OSError, ValueError, IndexError):
            break
        # argv[0] or the script python runs (argv[1]): a path mentioning the word elsewhere is not it
        if any(os.path.basename(a).startswith(m) for a in argv[:2] for m in PLAY_MARKERS):
            found = (pid, start)
        if ppid <= 1:
            break
        pid = ppid
    return found


def process_start(pid):
    """The start time of a process (clock ticks since boot): with its pid, what process_alive checks, so a pid
    the kernel has given to another process since is not taken for the one recorded."""
    return _stat(pid)[1]


def process_alive(pid, start):
    try:
        return _stat(pid)[1] == start
    except (OSError, ValueError, IndexError):
        return False


def lock_verdict(holder, now, current_boot_id, alive=process_alive, monotonic_now=None):
    """('held' or 'stale', why) for an existing lock record. Pure given alive(). In the boot it was renewed in,
    a lease is measured on the monotonic clock, which a wall-clock jump (NTP, a hand-set date) does not move."""
    same_boot = bool(holder.get('boot_id') and current_boot_id and holder['boot_id'] == current_boot_id)
    if holder.get('boot_id') and current_boot_id and not same_boot:
        return 'stale', 'the host rebooted since it was taken'
    proc = holder.get('process')
    if proc:
        if alive(proc[0], proc[1]):
            return 'held', 'its process %s is running' % proc[0]
        return 'stale', 'its process %s is gone' % proc[0]
    if same_boot and monotonic_now is not None and isinstance(holder.get('renewed_monotonic'), (int, float)):
        left = holder['renewed_monotonic'] + holder.get('lease', 0) - monotonic_now
        if left > 0:
            return 'held', 'its lease runs for %d s more' % math.ceil(left)
        return 'stale', 'its lease expired %d s ago without renewal (a lease of %s s)' % (-left, holder.get('lease', 0))
    if now < holder.get('expires', 0):
        return 'held', 'its lease runs until %s' % iso(holder['expires'])
    return 'stale', 'its lease expired at %s without renewal' % iso(holder.get('expires', 0))


def make_record(run_id, holder, lease, now):
    return dict(run_id=run_id, holder=holder, since=now, renewed=now, expires=now + lease, lease=lease,
                renewed_monotonic=time.monotonic(), boot_id=boot_id(), process=play_process(), host_pid=os.getpid())


def lock_path(state_dir, service):
    return os.path.join(state_dir, '%s.lock' % service)


def _guard(path):
    return flocked(path + '.guard', GUARD_TIMEOUT, 'the lock guard')


def read_holder(path):
    """The record, None when there is no lock, or a placeholder for an unreadable file (stale)."""
    try:
        with open(path) as f:
            record = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {'holder': 'unreadable lock file', 'since': 0, 'expires': 0}
    return record if isinstance(record, dict) else {'holder': 'unreadable lock file', 'since': 0, 'expires': 0}


def try_create(path, record):
    """Create the lock with its full record in one step (hard link); True if we hold it now."""
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.new', dir=folder)
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(record, f)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        fsync_dir(folder)
        return True
    finally:
        os.unlink(tmp)


def break_if_unchanged(path, seen):
    """Remove the lock if it still holds the record we judged stale; True if removed."""
    with _guard(path):
        if read_holder(path) != seen:
            return False  # renewed, released or taken by someone else since we looked
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        return True


def release(path, run_id):
    """Remove the lock only if run_id holds it; True if removed."""
    with _guard(path):
        current = read_holder(path)
        if not current or current.get('run_id') != run_id:
            return False
        os.unlink(path)
        return True


def renew(path, run_id, lease, now=None):
    """Extend our lease; returns the new record, or None when run_id does not hold the lock."""
    now = time.time() if now is None else now
    with _guard(path):
        current = read_holder(path)
        if not current or current.get('run_id') != run_id:
            return None
        record = dict(current, renewed=now, expires=now + lease, lease=lease, renewed_monotonic=time.monotonic())
        write_atomic(path, json.dumps(record))
        return record


def describe_holder(holder):
    return '%s (run %s) since %s' % (holder.get('holder', '?'), holder.get('run_id', '?'), iso(holder.get('since')))


class LockHeld(Exception):
    """Another run holds the lock (past our wait); .holder is its record."""

    def __init__(self, msg, holder):
        super().__init__(msg)
        self.holder = holder


def acquire(state_dir, service, run_id, holder, wait, lease, check_mode, warn):
    """Take the deploy lock of service for run_id (or renew it if run_id holds it already), waiting up to
    `wait` seconds for a held one and breaking a stale one (warn(msg) says so). Returns dict(changed,
    holder, broke_stale, broke_reason); raises LockHeld when another run still holds it."""
    path = lock_path(state_dir, service)
    current = read_holder(path)
    if current and current.get('run_id') == run_id:
        renewed = current if check_mode else renew(path, run_id, lease)
        return dict(changed=False, holder=renewed, broke_stale=None)
    if check_mode:
        return dict(changed=True, holder=make_record(run_id, holder, lease, time.time()), broke_stale=None)
    os.makedirs(state_dir, exist_ok=True)
    deadline = time.monotonic() + wait
    broke = why = None
    host_boot = boot_id()
    while True:
        record = make_record(run_id, holder, lease, time.time())
        if try_create(path, record):
            return dict(changed=True, holder=record, broke_stale=broke, broke_reason=why)
        current = read_holder(path)
        if current is None:
            continue  # released between our create and read: try again
        verdict, reason = lock_verdict(current, time.time(), host_boot, monotonic_now=time.monotonic())
        if verdict == 'stale':
            if break_if_unchanged(path, current):
                warn('breaking the stale deploy lock of %s held by %s: %s' % (service, describe_holder(current), reason))
                broke, why = current, reason
            continue
        if time.monotonic() >= deadline:
            raise LockHeld('another deploy of %s holds the lock: %s; %s (waited %ss; set cutover_lock_wait to wait longer)'
                           % (service, describe_holder(current), reason, wait), current)
        time.sleep(0.25)


def output_unread(fd):
    """True when nobody reads fd any more: the write end of a pipe whose reader closed it polls as an error.
    Over SSH that is this module's stdout once the controller's session is gone."""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _fd, events in poller.poll(0))
    except (OSError, ValueError):
        return False


def run_gone(lease):
    """Why the run a long step (a canary, a watch, a release command) belongs to is gone, so the step must stop
    changing things, or None: its lock is no longer its own or is stale (its play process on this host has
    ended: a local run killed; its lease ran out), or nobody reads this module's output (an SSH session that
    is gone). Reads the lock file (given a lease), /proc and stdout."""
    if lease:
        holder = read_holder(lock_path(lease['state_dir'], lease['service']))
        if not holder or holder.get('run_id') != lease['run_id']:
            return 'run %s no longer holds the deploy lock of %s' % (lease['run_id'], lease['service'])
        verdict, why = lock_verdict(holder, time.time(), boot_id(), monotonic_now=time.monotonic())
        if verdict == 'stale':
            return 'the deploy lock of run %s is stale: %s' % (lease['run_id'], why)
    if output_unread(sys.stdout.fileno()):
        return 'nobody reads this run\'s output any more (its controller is gone)'
    return None
