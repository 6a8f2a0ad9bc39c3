# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's per-service state file and the decisions that read it.

One JSON file per service under the state directory. It names the live container and upstream;
it is written atomically (temp file, fsync, rename) so a crash leaves the old or the new file,
never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile

DEFAULT_STATE_DIR = '/var/lib/cutover'


def state_path(state_dir, service):
    return os.path.join(state_dir, '%s.json' % service)


def read_state(state_dir, service):
    """The service's state dict, or {} when there is none yet."""
    try:
        with open(state_path(state_dir, service)) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ValueError('state file %s is not valid JSON: %s' % (state_path(state_dir, service), exc))


def write_state_atomic(state_dir, service, data):
    """Write the state file via temp + fsync + rename (and fsync the folder)."""
    os.makedirs(state_dir, mode=0o755, exist_ok=True)
    path = state_path(state_dir, service)
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % service, suffix='.tmp', dir=state_dir)
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write('\n')
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(state_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def live_container(state):
    """Name of the container the state marks live, or None."""
    return ((state or {}).get('live') or {}).get('container')


def select_reap(containers, keep=(), live=None, keep_stopped=0):
    """Decide what reap does with a service's containers. Pure.

    containers: dicts with name, id, created (sortable), running (bool).
    keep: names or ids never to touch. live: the container the host state marks live (never
    removed, whatever the caller asked). keep_stopped: the N most recent old containers are kept,
    stopped, for a fast rollback.
    Returns (remove, stop, kept) as lists of container dicts.
    """
    protected = set(keep or ())
    if live:
        protected.add(live)

    def is_protected(c):
        return c['name'] in protected or c['id'] in protected or \
            any(p and len(p) >= 12 and c['id'].startswith(p) for p in protected)

    kept = [c for c in containers if is_protected(c)]
    old = sorted((c for c in containers if not is_protected(c)),
                 key=lambda c: c['created'], reverse=True)
    parked, remove = old[:keep_stopped], old[keep_stopped:]
    stop = [c for c in parked if c['running']]
    return remove, stop, kept + parked
