# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's deploy metrics in the Prometheus text format (node_exporter's textfile collector reads
it): rendered from every service's state file and the last run's step durations by pure functions,
and written by publish()."""

from __future__ import annotations

import calendar
import contextlib
import json
import os
import time

from ansible_collections.cutover.deploy.plugins.module_utils._files import LockTimeout, flocked, read_text, write_atomic
from ansible_collections.cutover.deploy.plugins.module_utils._naming import service_error
from ansible_collections.cutover.deploy.plugins.module_utils._state import read_state

FAMILIES = (
    ('cutover_releases_total', 'counter',
     'Releases that reached an outcome, by service, kind (deploy, rollback) and outcome.'),
    ('cutover_live_release', 'gauge', 'Number of the live release in the service history.'),
    ('cutover_last_release_duration_seconds', 'gauge',
     'Wall time of the newest finished release, from its start to its outcome (whole seconds).'),
    ('cutover_last_release_step_seconds', 'gauge',
     'Seconds each step of the last run took (start, gate, swap, drain).'),
    ('cutover_last_success_timestamp_seconds', 'gauge', 'Unix time the newest succeeded release went live.'),
    ('cutover_tls_certificate_expiry_timestamp_seconds', 'gauge',
     'Unix time the certificate the proxy serves for the service expires (front door TLS).'),
)


def _label_value(value):
    return str(value).replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')


def _sample(name, labels, value):
    text = ','.join('%s="%s"' % (k, _label_value(v)) for k, v in labels)
    return '%s{%s} %s' % (name, text, _number(value))


def _number(value):
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(round(value, 6))


def parse_time(stamp):
    """Unix seconds of a state file's 'YYYY-MM-DDTHH:MM:SSZ', or None."""
    try:
        return calendar.timegm(time.strptime(stamp, '%Y-%m-%dT%H:%M:%SZ'))
    except (TypeError, ValueError):
        return None


def service_samples(service, state, steps):
    """{family: [sample lines]} of one service."""
    out = {name: [] for name, _kind, _help in FAMILIES}
    for kind, counts in sorted((state.get('totals') or {}).items()):
        for outcome, count in sorted(counts.items()):
            out['cutover_releases_total'].append(
                _sample('cutover_releases_total', [('service', service), ('kind', kind), ('outcome', outcome)], count))
    live = state.get('live') or {}
    if live.get('number') is not None:
        out['cutover_live_release'].append(_sample('cutover_live_release', [('service', service)], live['number']))
    history = state.get('history') or []
    finished = [h for h in history if h.get('finished') and h.get('outcome') not in ('running', 'pending')]
    if finished:
        newest = finished[-1]
        start, end = parse_time(newest.get('started')), parse_time(newest['finished'])
        if start is not None and end is not None:
            out['cutover_last_release_duration_seconds'].append(_sample(
                'cutover_last_release_duration_seconds',
                [('service', service), ('kind', newest.get('kind') or 'deploy'), ('outcome', newest['outcome'])],
                max(0, end - start)))
    succeeded = [h for h in history if h.get('outcome') == 'succeeded' and parse_time(h.get('finished')) is not None]
    if succeeded:
        out['cutover_last_success_timestamp_seconds'].append(_sample(
            'cutover_last_success_timestamp_seconds', [('service', service)], parse_time(succeeded[-1]['finished'])))
    certificate = state.get('certificate') or {}
    expires = parse_time(certificate.get('not_after'))
    if expires is not None:
        out['cutover_tls_certificate_expiry_timestamp_seconds'].append(_sample(
            'cutover_tls_certificate_expiry_timestamp_seconds',
            [('service', service), ('hosts', ','.join(certificate.get('hosts') or []))], expires))
    for step, seconds in sorted((steps or {}).items()):
        out['cutover_last_release_step_seconds'].append(
            _sample('cutover_last_release_step_seconds', [('service', service), ('step', step)], seconds))
    return out


def render(states, steps):
    """The metrics file: states {service: state}, steps {service: {step: seconds}}."""
    per_service = [service_samples(service, states[service], steps.get(service)) for service in sorted(states)]
    lines = []
    for name, kind, help_text in FAMILIES:
        samples = [line for s in per_service for line in s[name]]
        if samples:
            lines += ['# HELP %s %s' % (name, help_text), '# TYPE %s %s' % (name, kind)] + samples
    return '\n'.join(lines) + '\n' if lines else ''


def clean_steps(steps):
    """{step: seconds} with the steps that did not run (None, empty) left out; ValueError names a bad one."""
    out = {}
    for step, seconds in (steps or {}).items():
        if seconds is None or seconds == '':
            continue
        try:
            out[str(step)] = float(seconds)
        except (TypeError, ValueError):
            raise ValueError('steps.%s must be a number of seconds, got %r' % (step, seconds))
    return out


# The file itself (the one impure part): shared by the metrics module and the step that ends a run.

def steps_path(state_dir, service):
    return os.path.join(state_dir, 'metrics', '%s.steps.json' % service)


def services_in(state_dir):
    """The services with a state file in state_dir."""
    try:
        names = os.listdir(state_dir)
    except FileNotFoundError:
        return []
    return sorted(n[:-5] for n in names if n.endswith('.json') and not service_error(n[:-5]))


def _read_service(state_dir, name, step_files):
    """(state, steps) of one service; raises ValueError (StateError is one) for a file that does not parse."""
    state = read_state(state_dir, name)
    text = step_files.get(steps_path(state_dir, name)) or read_text(steps_path(state_dir, name))
    try:
        steps = json.loads(text) if text else {}
    except ValueError as exc:
        raise ValueError('%s is not JSON: %s' % (steps_path(state_dir, name), exc))
    if not isinstance(steps, dict):
        raise ValueError('%s is not a JSON object' % steps_path(state_dir, name))
    return state, clean_steps(steps)


def publish(path, state_dir, service, steps, check_mode):
    """Record this run's steps for service, render every service, write the file if it changed (one writer
    at a time: two services' runs ending together each render every service). A service whose state or steps
    file does not parse is left out, not fatal: one bad file must not hide every other service's metrics.
    Returns (changed, before, after, services, skipped) with skipped {service: reason}. Raises ValueError
    (a bad steps value of this run), LockTimeout or OSError."""
    steps = clean_steps(steps)
    # check mode writes nothing, so it takes no lock and creates no lock file
    guard = contextlib.nullcontext() if check_mode else flocked(os.path.join(state_dir, 'metrics', '.lock'), 30,
                                                                'the metrics lock')
    with guard:
        step_files = {}
        if service and steps:
            step_files[steps_path(state_dir, service)] = json.dumps(steps, sort_keys=True) + '\n'
        states, all_steps, skipped = {}, {}, {}
        for name in services_in(state_dir):
            try:
                states[name], all_steps[name] = _read_service(state_dir, name, step_files)
            except ValueError as exc:
                skipped[name] = str(exc)
        after = render(states, all_steps)
        before = read_text(path)
        changed = before != after
        if not check_mode:
            for step_file, text in step_files.items():
                if read_text(step_file) != text:
                    write_atomic(step_file, text)
            if changed:
                write_atomic(path, after)
    return changed, before, after, sorted(states), skipped


def warn_skipped(module, skipped):
    """One warning per service publish() left out."""
    for name, reason in sorted(skipped.items()):
        module.warn('metrics: service %s is left out of the metrics file: %s' % (name, reason))


def publish_or_report(module, path, state_dir, service, steps, errors):
    """publish() from a module: one warning per service left out, and when the file cannot be written, the
    module fails (errors='fail') or warns and goes on (errors='warn': a run that deployed must not fail, or
    keep its lock, for its metrics). Returns publish()'s tuple, or None when nothing was written."""
    try:
        published = publish(path, state_dir, service, steps, module.check_mode)
    except OSError as exc:
        why = 'path: cannot write the metrics file %s: %s' % (path, exc)
    except (ValueError, LockTimeout) as exc:
        why = str(exc)
    else:
        warn_skipped(module, published[4])
        return published
    if errors == 'fail':
        module.fail_json(msg=why)
    module.warn('metrics: the metrics file %s was not written: %s' % (path, why))
    return None
