# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Canary analysis and the watch after a swap: the settings, and the verdicts. Pure functions.

During a step green takes `weight` percent of the route's new requests beside blue. HAProxy's
per-server counters (`show stat`) are read at the start and the end of the step; their deltas are
what each side answered in the step. Green passes when it answered enough requests, its success rate
is at least `min_success_rate` and at most `max_success_drop` points below blue's in the same step,
and its average response time stays within `max_response_ms` (the defaults follow Flagger's: 99 %
success, 500 ms).

The watch (cutover_watch) reads the same counters for the new release alone, after the swap, while the
release it replaced still runs: it reverts as soon as the new release's success rate over at least
`min_requests` requests falls below `min_success_rate`, or HAProxy's own check marks it down; at the end of
`seconds` it also judges the average response time. Fewer requests than `min_requests` in the whole window
are too few to judge, and the release is kept (the result says so).
"""

from __future__ import annotations

from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import ANSWERS, NO_ANSWER, counters

DEFAULTS = dict(steps=[10, 50], interval=30, min_success_rate=99.0, max_success_drop=1.0, max_response_ms=500,
                min_requests=10)


def with_defaults(canary):
    """The settings with every key present, as numbers. Pure; assumes _validate.canary_errors() found nothing."""
    merged = dict(DEFAULTS, **(canary or {}))
    return dict(steps=[int(s) for s in merged['steps']], interval=float(merged['interval']),
                min_success_rate=float(merged['min_success_rate']), max_success_drop=float(merged['max_success_drop']),
                max_response_ms=float(merged['max_response_ms']), min_requests=int(merged['min_requests']))


def summed_counters(rows, names):
    """The counters of several servers (a release's replicas) from `show stat` rows by server name, summed. Pure."""
    total = counters({})
    for name in names:
        for key, value in counters(rows.get(name) or {}).items():
            total[key] += value
    return total


def slowest_response_ms(rows, names):
    """HAProxy's average response time (over each server's last 1024 requests) of the slowest of these servers. Pure."""
    return max([int((rows.get(name) or {}).get('rtime') or 0) for name in names] or [0])


def step_traffic(before, after, rtime_ms=None):
    """What one server answered between two counter readings: requests, errors, success rate. Pure.

    Errors are 5xx answers and requests that got none (connection and response errors); a counter
    that went backwards (the proxy restarted) counts from zero.
    """
    d = {k: after[k] - before[k] if after[k] >= before[k] else after[k] for k in after}
    requests = sum(d[k] for k in ANSWERS + NO_ANSWER)
    errors = d['hrsp_5xx'] + sum(d[k] for k in NO_ANSWER)
    rate = round(100.0 * (requests - errors) / requests, 2) if requests else None
    return dict(requests=requests, errors=errors, http_5xx=d['hrsp_5xx'], no_answer=sum(d[k] for k in NO_ANSWER),
                success_rate=rate, response_ms=rtime_ms)


def judge_step(weight, blue, green, settings):
    """The verdict on one step: dict(weight, blue, green, passed, reasons). Pure."""
    reasons = []
    if green['requests'] < settings['min_requests']:
        reasons.append('green answered %d requests, fewer than min_requests %d' % (green['requests'], settings['min_requests']))
    rate = green['success_rate']
    if rate is not None:
        if rate < settings['min_success_rate']:
            reasons.append('green success rate %.2f %% is below min_success_rate %.2f %% (%d errors in %d requests)'
                           % (rate, settings['min_success_rate'], green['errors'], green['requests']))
        if blue['success_rate'] is not None and rate < blue['success_rate'] - settings['max_success_drop']:
            reasons.append('green success rate %.2f %% is more than max_success_drop %.2f points below blue\'s %.2f %%'
                           % (rate, settings['max_success_drop'], blue['success_rate']))
    if green['response_ms'] is not None and green['requests'] and green['response_ms'] > settings['max_response_ms']:
        reasons.append('green average response time %d ms is above max_response_ms %d'
                       % (green['response_ms'], settings['max_response_ms']))
    return dict(weight=weight, blue=blue, green=green, passed=not reasons, reasons=reasons,
                summary='%d %%: green %s, blue %s' % (weight, traffic_summary(green), traffic_summary(blue)))


def traffic_summary(t):
    """One side of a step in words, such as '97.50 % of 400 requests ok (10 errors), 3 ms'. Pure."""
    if not t['requests']:
        return 'no requests'
    return '%.2f %% of %d requests ok (%d errors)%s' % (
        t['success_rate'], t['requests'], t['errors'], ', %d ms' % t['response_ms'] if t['response_ms'] is not None else '')


def step_weights(percent, full=100, blues=1, greens=1):
    """(blue, green) HAProxy weights of each server for green at `percent` of new requests, on servers whose full
    weight is `full` (so another host's servers in a shared backend keep their share). With replica sets, `blues`
    servers of the live release and `greens` of the new one: each green server's weight is scaled so the greens
    together take `percent` (at most HAProxy's 256). Pure."""
    green = int(round(full * percent / 100.0))
    return full - green, min(256, int(round(green * blues / float(greens))))


def weight_changes(current, target):
    """[(server, weight)]: the changes that take each server from its weight in `current` to the one in `target`,
    raises first. Pure.

    HAProxy's weighted round robin places a server it re-weighs against the backend's total weight at that moment. A
    total that shrinks on the way (blue lowered before green is raised) can send a re-weighed server to HAProxy's next
    round, which with a few requests a second is many seconds away: seen here, one of four blue servers took no
    request in a whole step, and green 0.36 of a step meant to be 0.30. Raised first, the total never falls below
    where it starts or where it ends."""
    changes = [(name, weight) for name, weight in target.items() if current.get(name) != weight]
    return sorted(changes, key=lambda change: change[1] < current.get(change[0], 0))  # raises (False) first; stable


WATCH_DEFAULTS = dict(seconds=60, min_success_rate=99.0, max_response_ms=500, min_requests=10)


def watch_settings(watch):
    """The watch settings with every key present, as numbers. Pure; assumes _validate.watch_errors() found nothing."""
    merged = dict(WATCH_DEFAULTS, **(watch or {}))
    return dict(seconds=float(merged['seconds']), min_success_rate=float(merged['min_success_rate']),
                max_response_ms=float(merged['max_response_ms']), min_requests=int(merged['min_requests']))


def judge_watch(traffic, status, settings, final):
    """('revert' | 'keep' | 'watch', reasons) for the new release's traffic since the swap (step_traffic()),
    HAProxy's status of its server (UP, DOWN, MAINT, 'no check', ...), and whether the window is over. Pure."""
    if str(status).startswith('DOWN'):
        return 'revert', ["HAProxy's health check marks the new release %s" % status]
    rate, enough = traffic['success_rate'], traffic['requests'] >= settings['min_requests']
    if enough and rate is not None and rate < settings['min_success_rate']:
        return 'revert', ['success rate %.2f %% is below min_success_rate %.2f %% (%d errors in %d requests)'
                          % (rate, settings['min_success_rate'], traffic['errors'], traffic['requests'])]
    if not final:
        return 'watch', []
    if enough and traffic['response_ms'] is not None and traffic['response_ms'] > settings['max_response_ms']:
        return 'revert', ['average response time %d ms is above max_response_ms %d'
                          % (traffic['response_ms'], settings['max_response_ms'])]
    if not enough:
        return 'keep', ['only %d requests in %g s, fewer than min_requests %d: too few to judge, kept'
                        % (traffic['requests'], settings['seconds'], settings['min_requests'])]
    return 'keep', []
