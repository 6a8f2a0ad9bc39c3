# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rollout across an inventory: where it stands, and the fleet's status table (pure functions).

The deploy playbook records one outcome per host (a fact, `_cutover_outcome`):
  moved      the host now serves the new release
  unchanged  the release was already live there
  failed     its gate, pull, lock or connection failed; `reason` says which
  skipped    not attempted: the rollout had stopped, or another host of its batch could not pull
A host with no outcome at the end of the run was lost mid-deploy (unreachable) and counts as failed.
The filter plugins in plugins/filter/ expose these to the playbooks.
"""

from __future__ import annotations

STATUSES = ('moved', 'unchanged', 'failed', 'skipped')


def rollout_status(hosts, outcomes, max_fail_percentage, final=False):
    """Where a rollout stands. Pure.

    hosts: the rollout's hosts in order; outcomes: {host: outcome dict} for the hosts that have one.
    The rollout is stopped once its failed hosts are more than max_fail_percentage percent of all its
    hosts (Swarm's max_failure_ratio; with one batch it is Ansible's max_fail_percentage). With final,
    a host without an outcome counts as failed (lost mid-deploy).
    """
    by_status = {s: [] for s in STATUSES}
    reasons = {}
    for host in hosts:
        outcome = outcomes.get(host)
        if not outcome:
            if final:
                by_status['failed'].append(host)
                reasons[host] = 'no result: the host became unreachable or the run was interrupted during its deploy'
            continue
        status = outcome.get('status')
        by_status[status if status in STATUSES else 'failed'].append(host)
        if outcome.get('reason'):
            reasons[host] = outcome['reason']
    total = len(hosts) or 1
    failed_percent = 100.0 * len(by_status['failed']) / total
    return dict(by_status, reasons=reasons, failed_percent=round(failed_percent, 1),
                stopped=failed_percent > float(max_fail_percentage))


def rollout_report(status, rollout_id, failure_action):
    """Lines that sum a rollout up for the operator. Pure."""
    lines = ['rollout %s: %d moved, %d unchanged, %d failed (%.1f%%), %d not attempted'
             % (rollout_id, len(status['moved']), len(status['unchanged']), len(status['failed']),
                status['failed_percent'], len(status['skipped']))]
    for host in status['failed']:
        lines.append('  failed %s: %s' % (host, status['reasons'].get(host, 'failed')))
    for host in status['skipped']:
        lines.append('  not attempted %s: %s' % (host, status['reasons'].get(host, 'the rollout had stopped')))
    if status['stopped']:
        after = ('the hosts this run moved are rolled back' if failure_action == 'rollback'
                 else 'the hosts already moved keep the new release, the rest were not touched')
        lines.append('stopped: more than the tolerated share of hosts failed; %s' % after)
    return lines


def same_image(ref):
    """An image reference as compared across hosts: Podman names local images localhost/NAME."""
    ref = ref or '-'
    return ref[len('localhost/'):] if ref.startswith('localhost/') else ref


def fleet_table(rows):
    """One status table for a service across hosts, and its drift. Pure.

    rows: dicts with host, engine and summary (the release module's `summary`; None when the host did
    not answer). Drift: the hosts that answered do not all run the same image. Images are compared by
    reference (Podman's `localhost/` prefix for local images aside): a release id derived from the
    settings differs per host (each host has its own address and engine), so it cannot be compared.
    Returns dict(lines, drift, releases, rollout) where releases maps each live image to its hosts.
    """
    fmt = '%-16s %-7s %-6s %-28s %-20s %-11s %s'
    lines = [fmt % ('host', 'engine', 'live', 'image', 'since', 'last', 'rollout')]
    releases = {}
    for row in rows:
        summary = row.get('summary')
        if summary is None:
            lines.append(fmt % (row['host'][:16], row.get('engine') or '-', '?', '(no answer)', '-', '-', '-'))
            continue
        live = summary.get('live_number')
        if live is not None:
            releases.setdefault(same_image(summary.get('image')), []).append(row['host'])
        last = summary.get('last_outcome') or '-'
        if summary.get('last_number') is not None and summary.get('last_number') != live:
            last = '%s #%s' % (last, summary['last_number'])
        lines.append(fmt % (row['host'][:16], row.get('engine') or '-', '-' if live is None else '#%s' % live,
                            (summary.get('image') or '-')[:28], summary.get('since') or '-', last,
                            summary.get('last_rollout') or '-'))
    drift = len(releases) > 1
    if drift:
        lines.append('DRIFT: %d releases live across the fleet: %s' % (len(releases), '; '.join(
            '%s on %s' % (k, ', '.join(v)) for k, v in sorted(releases.items()))))
    reached = rollout_reach(rows)
    if reached:
        lines.append('newest rollout %s reached %s; not reached: %s' % (
            reached['rollout'], ', '.join(reached['reached']), ', '.join(reached['not_reached']) or 'none'))
    return dict(lines=lines, drift=drift, releases=releases, rollout=reached)


def rollout_reach(rows):
    """The newest rollout (by the start of its newest release) and the hosts it did and did not reach. Pure."""
    started = {}
    for row in rows:
        summary = row.get('summary') or {}
        rollout = summary.get('last_rollout')
        if rollout:
            started[rollout] = max(started.get(rollout, ''), summary.get('last_started') or '')
    if not started:
        return None
    newest = max(started, key=lambda r: (started[r], r))
    reached = [r['host'] for r in rows if (r.get('summary') or {}).get('last_rollout') == newest]
    return dict(rollout=newest, reached=reached, not_reached=[r['host'] for r in rows if r['host'] not in reached])
