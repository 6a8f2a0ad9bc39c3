# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's per-service state file and the decisions that read it.

One JSON file per service under the state directory. It names the live container and upstream;
it is written atomically (temp file, fsync, rename) so a crash leaves the old or the new file,
never half of one. load_state and save_state, at the end, are the modules' read and write of it (errors become
the module's fail_json).
"""

from __future__ import annotations

import json
import os

from ansible_collections.cutover.deploy.plugins.module_utils._files import write_atomic
from ansible_collections.cutover.deploy.plugins.module_utils._naming import joined, members
from ansible_collections.cutover.deploy.plugins.module_utils._time import iso as iso_time

DEFAULT_STATE_DIR = '/var/lib/cutover'


def state_path(state_dir, service):
    return os.path.join(state_dir, '%s.json' % service)


class StateError(ValueError):
    """A state file that cannot be used; the message names the file and what is wrong."""


def shape_error(data):
    """None if data has the shape of a state file, else what is wrong with it. Pure."""
    if not isinstance(data, dict):
        return 'the top level must be an object, got %s' % type(data).__name__
    live = data.get('live')
    if live is not None and not (isinstance(live, dict) and isinstance(live.get('container'), str)):
        return '"live" must be null or an object with a "container" name'
    history = data.get('history', [])
    if not isinstance(history, list):
        return '"history" must be a list'
    for i, h in enumerate(history):
        if not isinstance(h, dict) or not isinstance(h.get('number'), int) or isinstance(h.get('number'), bool):
            return 'history entry %d must be an object with an integer "number"' % i
    return None


def read_state(state_dir, service):
    """The service's state dict, or {} when there is none yet; StateError names a bad file."""
    path = state_path(state_dir, service)
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise StateError('state file %s is not valid JSON: %s' % (path, exc))
    err = shape_error(data)
    if err:
        raise StateError('state file %s has the wrong shape: %s (move it aside to start over)' % (path, err))
    return data


def write_state_atomic(state_dir, service, data):
    """Write the state file atomically (see _files.write_atomic)."""
    text = json.dumps(data, indent=2, sort_keys=True) + '\n'
    write_atomic(state_path(state_dir, service), text)


def live_container(state):
    """Name of the container the state marks live, or None."""
    return ((state or {}).get('live') or {}).get('container')


def select_image_prune(built, in_use, history, live, keep_images, now, grace):
    """Which of the images image_build made for a service reap removes. Pure.

    built: dicts with id and created (epoch seconds). in_use: image ids of the service's containers in any
    state (live, standby, kept for rollback, retiring). Besides those and the live release's image, the images
    of the keep_images newest other releases that went live are kept, and any image built in the last grace
    seconds (a build runs before its deploy takes the lock, so another run may be about to start it).
    """
    def short(image_id):
        return (image_id or '').split(':', 1)[-1]
    keep = {short(i) for i in in_use} | {short((live or {}).get('image_id'))}
    earlier = []
    for entry in reversed(history or []):
        image_id = short(entry.get('image_id'))
        if entry.get('outcome') in ('succeeded', 'rolled_back') and image_id and image_id not in keep | set(earlier):
            earlier.append(image_id)
    keep.update(earlier[:max(0, keep_images)])
    return [b for b in built if short(b['id']) not in keep and now - (b.get('created') or now) > grace]


def select_reap(containers, keep=(), live=None, keep_stopped=0, was_live=None):
    """Decide what reap does with a service's containers. Pure.

    containers: dicts with name, id, created (sortable), running (bool).
    keep: names or ids never to touch. live: the container the host state marks live (never
    removed, whatever the caller asked). keep_stopped: that many old releases are kept, stopped,
    for a fast rollback. was_live: names of containers of releases that succeeded (were live), newest
    first; only those are kept for rollback, so a failed green never takes the place of the last good
    release. None (no state to go by): the newest old containers are kept.
    A release with replicas has its containers' names joined by commas (in keep, live and was_live): all
    of them are kept, or none.
    Returns (remove, stop, kept) as lists of container dicts.
    """
    protected = set(keep or ()) | set(m for k in keep or () for m in members(k)) | set(members(live))

    def is_protected(c):
        return c['name'] in protected or c['id'] in protected or \
            any(p and len(p) >= 12 and c['id'].startswith(p) for p in protected)

    kept = [c for c in containers if is_protected(c)]
    old = [c for c in containers if not is_protected(c)]
    if was_live is None:
        parked = sorted(old, key=lambda c: c['created'], reverse=True)[:keep_stopped]
    else:
        rank = {}
        for i, names in enumerate(was_live):
            for name in members(names):
                rank.setdefault(name, i)
        releases = sorted({rank[c['name']] for c in old if c['name'] in rank})[:keep_stopped]
        parked = sorted((c for c in old if rank.get(c['name']) in releases), key=lambda c: rank[c['name']])
    remove = [c for c in old if c not in parked]
    stop = [c for c in parked if c['running']]
    return remove, stop, kept + parked


def rollback_candidates(state):
    """Containers of succeeded releases, newest release first (what reap keeps for rollback). Pure."""
    return [h['container'] for h in reversed(state.get('history') or [])
            if h.get('outcome') == 'succeeded' and h.get('container')]


def active_standby(state, now):
    """The standby container (the release a deploy replaced, kept running and unrouted until its
    window ends), or None once its window is over or it is live again. Pure; now: epoch seconds."""
    standby = (state or {}).get('standby') or {}
    if standby.get('container') and now < standby.get('until', 0) and standby['container'] != live_container(state):
        return standby['container']
    return None


def next_standby(before, after, seconds, now):
    """The standby record of the state `after` green was recorded live: the release it replaced, for
    `seconds`, when that was a good release; else the standby `before` had while its window lasts. Pure.
    A rollback inside the window then finds its target running: one swap, no container start."""
    old, new = (before.get('live') or {}), (after.get('live') or {})
    replaced = old.get('container')
    if seconds > 0 and replaced and replaced != new.get('container') and replaced in rollback_candidates(after):
        return dict(container=replaced, number=old.get('number'), upstream=old.get('upstream'), until=now + seconds)
    if active_standby(after, now):
        return after['standby']
    return None


def running_standby(state, containers, now):
    """The active standby as a rollback to it needs it ({container, number, upstream}), when every one of its
    containers runs; else None. containers: describe() dicts of the service's containers. The upstream is
    the one its containers publish now. Pure; now: epoch seconds."""
    name = active_standby(state, now)
    by_name = {c['name']: c for c in containers}
    infos = [by_name.get(n) for n in members(name)]
    if not infos or not all(i and i['running'] and i.get('upstream') for i in infos):
        return None
    return dict(container=name, number=state['standby'].get('number'), upstream=joined(i['upstream'] for i in infos))


def standby_rollback_entry(state, container, upstream, record, started):
    """The history entry of a rollback to the running standby `container`, which started no container: the
    image id, release id and port of the release's own newest entry, with what `record` (release_record_option)
    says. Pure; ValueError when the history has no entry for that container."""
    entry = next((h for h in reversed(state.get('history') or []) if h.get('container') == container), None)
    if entry is None:
        raise ValueError('the history has no release that ran in %s' % container)
    info = dict(name=container, image_id=entry.get('image_id'), upstream=upstream)
    return recorded_entry(record, entry.get('image'), entry.get('strategy'), info, entry.get('release_id'),
                          entry.get('container_port'), started)


def rolled_back_by_adoption(state, adopted):
    """The live release's number when adopting history entry `adopted` (the route found on it) is a rollback that
    ended before it was recorded: the entry is a rollback's, or older than the live one (a rollback to the running
    standby begins no entry before its swap). That live release is then closed rolled_back, so it is not taken
    for the previous good release. None for a deploy's green adopted after its swap. Pure."""
    live = (state.get('live') or {}).get('number')
    if live is None or adopted is None or adopted['number'] == live:
        return None
    return live if adopted.get('kind') == 'rollback' or adopted['number'] < live else None


def with_standby(state, standby):
    """The state with this standby record, or without one. Pure."""
    after = {k: v for k, v in state.items() if k != 'standby'}
    if standby:
        after['standby'] = standby
    return after


OUTCOMES = ('pending', 'running', 'succeeded', 'failed', 'rolled_back', 'cancelled', 'paused')


def new_state(service):
    return dict(service=service, live=None, history=[])


DEFAULT_HISTORY_LIMIT = 100


def release_entry_options():
    """The argument spec of what a history entry records about who and why, shared by release (action=begin)
    and green_container's record option."""
    return dict(
        strategy=dict(type='str'),
        kind=dict(type='str', default='deploy', choices=['deploy', 'rollback']),
        initiator=dict(type='str'),
        notes=dict(type='str'),
        commit_sha=dict(type='str'),
        rollout=dict(type='str'),
        check=dict(type='dict'),  # HAProxy's check the release serves under once live (recorded, not read yet)
    )


def release_record_option():
    """The argument spec of the record option (doc fragment release_record) of the steps that start a release's
    container: green_container and compose_project."""
    return dict(type='dict', options=dict(image=dict(type='str'), history_limit=dict(type='int', default=DEFAULT_HISTORY_LIMIT),
                                          **release_entry_options()))


def recorded_entry(record, image, strategy, container, release_id, container_port, started):
    """The history entry a step's record option begins (release_record_option): what the record says, with the
    step's image and strategy where it says none, and what the step started (container: its describe() facts,
    or name, image_id and upstream None when nothing started). The record's check (HAProxy's, that the release
    serves under) is kept only when given. Pure."""
    return dict(image=record['image'] or image, image_id=container['image_id'], release_id=release_id,
                container=container['name'], upstream=container['upstream'], container_port=container_port,
                strategy=record['strategy'] or strategy, kind=record['kind'], initiator=record['initiator'],
                notes=record['notes'], commit_sha=record['commit_sha'], rollout=record['rollout'], started=started,
                **({'check': record['check']} if record.get('check') else {}))


def begin_release(state, entry, history_limit=DEFAULT_HISTORY_LIMIT):
    """Append a history entry (outcome running) and return (state, number). Pure.

    The history keeps the newest history_limit entries, and always the live release's entry.
    """
    state = dict(state, history=list(state.get('history') or []))
    number = max([h['number'] for h in state['history']] or [0]) + 1
    state['history'].append(dict(entry, number=number, outcome='running'))
    state['history'] = trim_history(state['history'], (state.get('live') or {}).get('number'), history_limit)
    return state, number


def trim_history(history, live_number, limit):
    """The newest `limit` entries (history is oldest first), keeping the live one. Pure."""
    if limit <= 0 or len(history) <= limit:
        return history
    newest = history[-limit:]
    kept = [h for h in history[:-limit] if h['number'] == live_number]
    return kept + newest


def _replace_entry(history, number, **changes):
    out = []
    for h in history:
        out.append(dict(h, **changes) if h['number'] == number else h)
    return out


def count_outcome(state, entry, outcome):
    """state with its running total of releases of entry's kind reaching outcome one up. Pure.

    The totals (state['totals'][kind][outcome]) only grow: they outlive history trimming, so the
    metrics file can publish them as Prometheus counters. A release counts once per outcome it
    reaches (a succeeded release rolled back later counts in both).
    """
    if entry is None or entry.get('outcome') == outcome:
        return state
    totals = {kind: dict(counts) for kind, counts in (state.get('totals') or {}).items()}
    counts = totals.setdefault(entry.get('kind') or 'deploy', {})
    counts[outcome] = counts.get(outcome, 0) + 1
    return dict(state, totals=totals)


def mark_live(state, number, container, upstream, now):
    """Green becomes live: the state names it, and its entry succeeded; the entry that was live
    before is unchanged (it stays 'succeeded', the previous good release). Pure."""
    history = list(state.get('history') or [])
    entry = next((h for h in history if h['number'] == number), None)
    if entry is None:
        raise ValueError('release %s is not in the history' % number)
    live = dict(container=container, upstream=upstream, number=number, release_id=entry.get('release_id'),
                image=entry.get('image'), image_id=entry.get('image_id'), since=now)
    history = _replace_entry(history, number, outcome='succeeded', finished=now, container=container,
                             upstream=upstream)
    after = dict(count_outcome(state, entry, 'succeeded'), live=live, history=history)
    after.pop('removed', None)  # a service taken down (remove_service) and deployed again is live again
    return after


def record_live(state, number, container, upstream, now, rolled_back_from=None):
    """The state with release `number` live in `container`, and the release a rollback left marked
    rolled_back. Pure. Returns `state` itself when that release is already live there."""
    live = state.get('live') or {}
    if live.get('container') == container and live.get('number') == number and not rolled_back_from:
        return state
    after = mark_live(state, number, container, upstream, now)
    if rolled_back_from:
        after = finish_release(after, rolled_back_from, 'rolled_back', now, 'rolled back to release %d' % number)
    return after


def finish_release(state, number, outcome, now, reason=None):
    """Close an entry with a non-live outcome (failed, rolled_back, cancelled). Pure."""
    if outcome not in OUTCOMES:
        raise ValueError('invalid outcome %r (valid: %s)' % (outcome, ', '.join(OUTCOMES)))
    changes = dict(outcome=outcome, finished=now)
    if reason:
        changes['reason'] = reason
    history = list(state.get('history') or [])
    entry = next((h for h in history if h['number'] == number), None)
    return dict(count_outcome(state, entry, outcome), history=_replace_entry(history, number, **changes))


def previous_good(state, number=None):
    """The release to roll back to: the given number, else the newest succeeded one not live."""
    live_number = (state.get('live') or {}).get('number')
    history = state.get('history') or []
    if number is not None:
        return next((h for h in history if h['number'] == number), None)
    good = [h for h in history if h.get('outcome') == 'succeeded' and h['number'] != live_number]
    return good[-1] if good else None


TCP_CHECK = {'type': 'tcp'}


def rollback_plan(before, number=None, user_check=False):
    """What a rollback does, from the first step's answer (before: prepare's live, history, standby and proxy_check).
    Pure. number: the release asked for (None or '' for the previous good one). user_check: the user set
    proxy.check, which the rollback never changes. Returns:
      target: the history entry to return to, or None
      standby: the running standby ({container, number, upstream}) when it is the target: one swap, no green step
      check: HAProxy's check through the rollback: the one the route runs now when it is a TCP connect (which every
        listening release passes), the user's, or the one the target was recorded serving under; else a TCP connect
        (the target may not answer the path of the release it leaves). None without one (another proxy, a shared
        load balancer).
      hold_check: the check must change to `check` before the swap (a reload)."""
    history = before.get('history') or []
    if number in (None, ''):
        target = previous_good(dict(live=before.get('live'), history=history))
    else:  # a release that is no number has no entry: the role's check then names what was asked
        text = str(number).strip()
        target = previous_good(dict(history=history), int(text)) if text.isdigit() else None
    standby = before.get('standby')
    standby = standby if target and standby and standby.get('number') == target['number'] else None
    current = before.get('proxy_check')
    if target is None or current is None or current.get('type') == 'tcp' or user_check or target.get('check') == current:
        check = current
    else:
        check = dict(TCP_CHECK)
    return dict(target=target, standby=standby, check=check, hold_check=check != current)


def plan_reconcile(state, containers, route_upstream, now=0, weighted=False):
    """Decide how to converge after a crash. Pure.

    containers: describe() dicts of the service's containers. route_upstream: what the proxy
    routes to now (None when unknown or no proxy). Returns a dict of actions:
      adopt: container name to record as live (the route already points at it: it passed its gate)
      start: stopped live container to start again
      follow: the upstream the running live container actually publishes, when the state recorded
              another (an engine that re-published it on a new port): the state is corrected
      route: upstream the route must point back to
      retire: the live container replaced by an adopted one, and a running release that succeeded
              before (a crash came between its replacement and its retirement): stopped gracefully in
              the background (they may still be finishing requests) and kept for rollback, never
              removed here
      remove: orphaned greens (running, never routed, not live, not retiring)
      cancel: history numbers left 'running' by a dead run
      end_standby: the standby record is dropped (its window is over, or it is live again); a
              running standby past its window is retired, one inside it is left running
      weights: the routed servers get their own weights back (a killed canary left its shares), when the
              route is not pointed anew anyway (a swap gives the one serving slot its weight)
    now: epoch seconds, for the standby window. weighted: the route's serving servers carry weights other
    than their own.
    """
    live = members(live_container(state))
    by_name = {c['name']: c for c in containers}
    by_upstream = {c['upstream']: c for c in containers if c.get('upstream') and c['running']}
    plan = dict(adopt=None, start=None, follow=None, route=None, retire=[], remove=[], cancel=[], end_standby=False,
                weights=False)
    # the route points at a release the state does not name live: one release's containers (a crash after the swap)
    # are adopted; two releases' (a crash mid-swap, a canary's share) are not, the route goes back to the live one
    routed = [by_upstream.get(u) for u in members(route_upstream)]
    one_release = routed and all(routed) and len(set(c.get('release') for c in routed)) == 1
    target = sorted(c['name'] for c in routed) if one_release else []
    if target and set(target) != set(live):
        plan['adopt'] = joined(target)
        plan['retire'] = [n for n in live if n in by_name and by_name[n]['running'] and n not in target]
        live = target
    elif live and all(n in by_name for n in live):
        recorded = (state.get('live') or {}).get('upstream')
        stopped = [n for n in live if not by_name[n]['running']]
        upstreams = [by_name[n].get('upstream') for n in live]
        published = joined(upstreams) if not stopped and all(upstreams) else None
        if stopped:
            plan['start'] = joined(stopped)
        elif published and published != recorded:
            plan['follow'] = published
        live_up = published or recorded
        if route_upstream is not None and route_upstream != live_up and live_up:
            plan['route'] = live_up
    standby = members((state.get('standby') or {}).get('container'))
    waiting = standby if standby and set(standby) != set(live) and now < state['standby'].get('until', 0) else []
    if standby and not waiting:
        plan['end_standby'] = True
        for name in standby:  # its window is over: stopped, kept for rollback like any old release
            if name in by_name and by_name[name]['running'] and name not in live and name not in plan['retire']:
                plan['retire'].append(name)
    if live:
        # Only with a known live container: with neither a state nor a route to go by (a lost state
        # file, no proxy) a running container may be serving, so nothing is removed. A container being
        # retired is on its way out already, and one of a release that was live is kept for rollback.
        spared = set(live) | set(waiting) | set(plan['retire']) | set(c['container'] for c in state.get('retiring') or [])
        good = set(m for names in rollback_candidates(state) for m in members(names))
        for c in containers:
            if c['running'] and c['name'] not in spared:
                plan['retire' if c['name'] in good else 'remove'].append(c['name'])
    plan['cancel'] = [h['number'] for h in state.get('history') or [] if h.get('outcome') in ('running', 'pending')]
    plan['weights'] = bool(weighted and route_upstream and not plan['route'])
    return plan


def release_summary(state):
    """One host's row of a fleet status: what is live, and how its newest release ended. Pure."""
    live = state.get('live') or {}
    history = state.get('history') or []
    newest = history[-1] if history else {}
    live_entry = next((h for h in history if h['number'] == live.get('number')), {}) if live else {}
    return dict(live_number=live.get('number'), release_id=live.get('release_id'), image=live.get('image'),
                since=live.get('since'), live_rollout=live_entry.get('rollout'), last_number=newest.get('number'),
                last_outcome=newest.get('outcome'), last_rollout=newest.get('rollout'),
                last_started=newest.get('started'), last_reason=newest.get('reason'))


def history_table(state, limit=20):
    """The live release and the newest releases as aligned text lines (for status output). Pure."""
    live = state.get('live')
    summary = 'nothing'
    if live:
        count = len(members(live['container']))
        summary = '%s%s at %s (release %s, %s)' % ('%d replicas ' % count if count > 1 else '', live['container'],
                                                   live['upstream'], live.get('number'), live.get('image'))
    lines = ['live: %s' % summary]
    standby = state.get('standby')
    if standby:
        lines.append('standby: %s at %s (release %s), running unrouted until %s'
                     % (standby['container'], standby.get('upstream'), standby.get('number'), iso_time(standby.get('until'))))
    fmt = '%-4s %-8s %-10s %-11s %-28s %-20s %-16s %s'
    lines.append(fmt % ('#', 'kind', 'strategy', 'outcome', 'image', 'started', 'by', 'container'))
    live_number = (live or {}).get('number')
    for h in list(reversed(state.get('history') or []))[:limit]:
        mark = '*' if h['number'] == live_number else ''
        lines.append(fmt % ('%s%s' % (h['number'], mark), h.get('kind') or '-', h.get('strategy') or '-',
                            h.get('outcome') or '-', (h.get('image') or '-')[:28], h.get('started') or '-',
                            (h.get('initiator') or '-')[:16], h.get('container') or '-'))
    return lines


# For the modules: the state read and write, turned into clear fail_json messages
def load_state(module):
    """The service's state from `state_dir` (a new empty one if there is none), or fail clearly."""
    p = module.params
    try:
        return read_state(p['state_dir'], p['service']) or new_state(p['service'])
    except (OSError, StateError) as exc:
        module.fail_json(msg='cannot read the state of %s in state_dir %s: %s' % (p['service'], p['state_dir'], exc))


def save_state(module, state):
    """Write the service's state file (not in check mode), or fail clearly."""
    p = module.params
    if module.check_mode:
        return
    try:
        write_state_atomic(p['state_dir'], p['service'], state)
    except (OSError, StateError) as exc:
        module.fail_json(msg='cannot write the state of %s in %s: %s' % (p['service'], p['state_dir'], exc))
