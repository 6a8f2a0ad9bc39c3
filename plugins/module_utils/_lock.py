# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-service deploy lock on a host: a file created with O_EXCL.

The holder is the long-lived process the play runs under on this host: ansible-playbook itself
for a local connection, the SSH session for a remote one. When that process is gone (the play was
killed, the connection lost, the host rebooted), the lock is stale and the next deploy breaks it.
A lease (ttl) covers holders we cannot identify.
"""

from __future__ import annotations

import json
import os
import time

ANCESTOR_MARKERS = (b'ansible-playbook', b'ansible-runner', b'sshd:')


def _stat(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[1]), fields[19]  # ppid, start time (clock ticks since boot)


def play_process(pid=None):
    """(pid, start_time) of the topmost ancestor that lives as long as the play, or None.

    Topmost, because ansible-playbook forks a short-lived worker per task with the same command
    line, and sshd has a per-connection process above the per-session one.
    """
    pid = pid or os.getpid()
    found = None
    for step in range(64):  # bounded walk up the process tree  # pylint: disable=unused-variable
        try:
            ppid, start = _stat(pid)
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                cmd = f.read()
        except (OSError, ValueError, IndexError):
            break
        if any(m in cmd for m in ANCESTOR_MARKERS):
            found = (pid, start)
        if ppid <= 1:
            break
        pid = ppid
    return found


def process_alive(pid, start):
    try:
        return _stat(pid)[1] == start
    except (OSError, ValueError, IndexError):
        return False


def lock_verdict(holder, now, alive=process_alive):
    """'held' or 'stale' for an existing lock's holder record. Pure given alive()."""
    proc = holder.get('process')
    if proc:
        return 'held' if alive(proc[0], proc[1]) else 'stale'
    return 'held' if now < holder.get('expires', 0) else 'stale'


def lock_path(state_dir, service):
    return os.path.join(state_dir, '%s.lock' % service)


def read_holder(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except ValueError:
        return {'holder': 'unreadable lock file', 'since': 0}


def try_create(path, record):
    """Create the lock file exclusively; True if we hold it now."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, 'w') as f:
        json.dump(record, f)
        f.flush()
        os.fsync(f.fileno())
    return True


def describe_holder(holder):
    since = holder.get('since')
    when = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(since)) if since else 'an unknown time'
    return '%s (run %s) since %s' % (holder.get('holder', '?'), holder.get('run_id', '?'), when)
