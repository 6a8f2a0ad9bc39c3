# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retiring: the replaced container's graceful stop, off the deploy's critical path.

Once green is live, routed and persisted, no request depends on the old container any more, yet its
graceful stop can take the whole stop timeout (an app that ignores SIGTERM is killed only after it).
So the step that retires it records it in the state as `retiring` ({container, deadline, remove}) and
hands the engine's stop (and removal, when it is not kept for rollback) to a detached helper
process, then returns. Whatever runs next reads the record (plan_retiring): an entry whose container
has stopped (or is gone) is done; one still running after its deadline (the helper died, the host
rebooted) is killed. A retiring container is never taken for an orphan, and a rollback that needs it
waits for the stop and starts it again. One retiring to be removed (no longer kept for rollback) is the
helper's alone: a deploy of its release again creates a new container rather than start one being removed.
"""

from __future__ import annotations

import os

# seconds beyond the stop timeout before the next run kills a container the helper did not stop
DEADLINE_MARGIN = 5


def retiring(state):
    """The retiring entries of a state (a list of {container, deadline, remove}). Pure."""
    return list((state or {}).get('retiring') or [])


def retiring_names(state):
    return [e['container'] for e in retiring(state)]


def removing_names(state):
    """The retiring containers whose helper removes them once stopped: on their way out, so no step starts or
    removes them again (the next run finishes what a helper could not). Pure."""
    return [e['container'] for e in retiring(state) if e.get('remove')]


def with_retiring(state, entries):
    """The state with these retiring entries (none: the key is dropped). Pure."""
    after = {k: v for k, v in state.items() if k != 'retiring'}
    if entries:
        after['retiring'] = entries
    return after


def add_retiring(state, containers, remove, stop_timeout, now):
    """The state with `containers` (names) retiring from now: stopped within stop_timeout, then
    removed when `remove`. An entry already there is replaced. Pure."""
    names = set(containers)
    kept = [e for e in retiring(state) if e['container'] not in names]
    deadline = now + stop_timeout + DEADLINE_MARGIN
    return with_retiring(state, kept + [dict(container=n, deadline=deadline, remove=remove) for n in containers])


def plan_retiring(state, containers, now):
    """What the next run does with the retiring entries. Pure.

    containers: describe() dicts of the service's containers. Returns dict(done, force, waiting) of
    entries: done, their container stopped or gone (the entry is dropped; a stopped one marked remove
    is removed); force, still running past the deadline (killed, then as done); waiting, still
    stopping within it (left alone).
    """
    by_name = {c['name']: c for c in containers}
    plan = dict(done=[], force=[], waiting=[])
    for entry in retiring(state):
        c = by_name.get(entry['container'])
        if c is None or not c['running']:
            plan['done'].append(entry)
        elif now >= entry.get('deadline', 0):
            plan['force'].append(entry)
        else:
            plan['waiting'].append(entry)
    return plan


def stop_in_background(engine, jobs, stop_timeout):
    """Fork a detached helper that stops each container of `jobs` ([(name, remove)]) through the
    engine's own graceful stop (SIGTERM, SIGKILL after stop_timeout), removing those marked remove,
    and return at once. The helper has its own session (a killed play does not take it along), its own
    engine connection, and no descriptor of ours: the module's output ends when the module exits."""
    if not jobs:
        return
    client_args = engine.client_args()
    docker = engine.sdk
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)  # the middle child exits at once; the helper is re-parented to init
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 65536)
        client = docker.DockerClient(**dict(client_args, timeout=stop_timeout + 60))
        for name, remove in jobs:
            try:
                container = client.containers.get(name)
                container.stop(timeout=stop_timeout)
                if remove:
                    container.remove(v=False)
            except Exception:  # pylint: disable=broad-except
                continue  # the next run finds the entry and finishes it
    finally:
        os._exit(0)


def finish_retiring(engine, state, containers, handles, now, check_mode=False):
    """Carry out plan_retiring: kill what outlived its deadline, remove what was to be removed, drop
    the finished entries. Returns (state, actions); dropping the entry of a container the helper
    stopped is bookkeeping, not an action."""
    plan = plan_retiring(state, containers, now)
    actions = []
    for entry in plan['force'] + plan['done']:
        name = entry['container']
        handle = handles.get(name)
        if handle is None:
            continue
        if entry in plan['force']:
            actions.append('kill %s (still running past its retirement deadline)' % name)
            if not check_mode:
                engine.call('killing the retiring container %s' % name, handle.stop, timeout=0)
        if entry.get('remove'):
            actions.append('remove %s' % name)
            if not check_mode:
                engine.remove_stopped('removing the retired container %s' % name, handle)
    return with_retiring(state, plan['waiting']), actions
