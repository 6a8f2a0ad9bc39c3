#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: watch
short_description: Watch a release HAProxy now routes to, and fail when it fails under real traffic
version_added: 1.0.0
description:
  - Runs after the swap, while the release it replaced still runs. Reads HAProxy's counters (C(show stat)) of
    the server slot that routes to O(upstream) once at the start and then twice a second, for
    O(settings.seconds).
  - Fails as soon as the new release's success rate (answers that are not 5xx, with connection and response
    errors counted as failures) over at least O(settings.min_requests) requests is below
    O(settings.min_success_rate), or HAProxy's own health check marks its server down; at the end of the window
    also when HAProxy's average response time of the server is above O(settings.max_response_ms).
  - On failure it swaps the route back to O(revert_to), the release it replaced, at once (one swap through the
    Runtime API, no boot, the new release drained for up to O(drain_timeout) seconds), and fails with the numbers
    in RV(watch). The caller then removes the new release and records it C(rolled_back). Without O(revert_to) it
    changes nothing and the caller swaps back.
  - Fewer than O(settings.min_requests) requests in the whole window are too few to judge, and the module
    succeeds saying so.
  - Every second it checks that its run still holds the deploy lock and is alive, as M(cutover.deploy.canary)
    does, and stops when the run is gone.
  - HAProxy only; other proxies have no per-server counters here, and the module fails naming the proxy type.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.lease
  - cutover.deploy.proxy
options:
  route:
    description: The service's HAProxy backend.
    type: str
    required: true
  upstream:
    description: The new release's upstream, C(address:port), which the route serves now.
    type: str
    required: true
  revert_to:
    description: The upstream of the release the new one replaced (still running), to swap back to on failure.
    type: str
  drain_timeout:
    description: Seconds the new release's requests in flight may take to finish after a swap back.
    type: float
    default: 30
  since:
    description:
      - The route's request counters per server slot read just before the swap (RV(cutover.deploy.proxy_swap#module:counters_at_swap)),
        so the requests the new release answered before this module started count too. Without it, counting starts
        when the module does.
    type: dict
  swapped_at:
    description: When the swap happened (RV(cutover.deploy.proxy_swap#module:swapped_at)), for RV(watch.since_swap_seconds).
    type: float
  settings:
    description: The watch settings (the role variable C(cutover_watch)).
    type: dict
    default: {}
    suboptions:
      seconds:
        description: How long to watch.
        type: float
        default: 60
      min_success_rate:
        description: The lowest success rate, in percent, the new release may have.
        type: float
        default: 99.0
      max_response_ms:
        description: The highest average response time, in milliseconds, judged at the end of the window.
        type: float
        default: 500
      min_requests:
        description: Requests needed before the success rate is judged.
        type: int
        default: 10
attributes:
  check_mode:
    support: full
    description: Reports the watch it would run, without waiting.
  diff_mode:
    support: none
    description: The swap back on failure is the one change, and it is reported in RV(watch).
  idempotent:
    support: full
    description: A release that passes is left as it is; only a failing one is swapped away from.
'''

EXAMPLES = r'''
- name: Watch the new release for a minute after the swap
  cutover.deploy.watch:
    proxy:
      type: haproxy
      admin_socket: /run/haproxy/admin.sock
    route: web
    upstream: 127.0.0.1:32801
    revert_to: 127.0.0.1:32790
    settings:
      seconds: 60
      min_success_rate: 99.5
'''

RETURN = r'''
passed:
  description: Whether the new release stays (also true when too few requests came to judge).
  returned: always
  type: bool
watch:
  description: What the new release answered in the window.
  returned: always
  type: dict
  contains:
    requests:
      description: Requests it answered (or failed to answer) since the swap.
      type: int
    errors:
      description: 5xx answers and requests that got no answer.
      type: int
    success_rate:
      description: Percent of the requests that did not fail (null with no requests).
      type: float
    response_ms:
      description: HAProxy's average response time of its server, in milliseconds.
      type: int
    watched_seconds:
      description: How long it was watched before the verdict.
      type: float
    status:
      description: HAProxy's status of its server at the verdict.
      type: str
    reverted_to:
      description: The upstream the route was swapped back to (on failure with O(revert_to)).
      type: str
    since_swap_seconds:
      description: Seconds from the swap (O(swapped_at)) to the verdict, or to the swap back on failure.
      type: float
reasons:
  description: Why it failed, or why it was kept unjudged.
  returned: always
  type: list
  elements: str
summary:
  description: The verdict in one line.
  returned: always
  type: str
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._canary import (
    WATCH_DEFAULTS, judge_watch, slowest_response_ms, step_traffic, summed_counters, traffic_summary, watch_settings,
)
from ansible_collections.cutover.deploy.plugins.module_utils._files import LockTimeout, proxy_guard
from ansible_collections.cutover.deploy.plugins.module_utils._lock import run_gone
from ansible_collections.cutover.deploy.plugins.module_utils._module import lease_option, renew_lease, require_finite_numbers
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import ProxyError, run_swap
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.drivers import make_driver, proxy_option_spec
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import serving_slots
from ansible_collections.cutover.deploy.plugins.module_utils._checks import route_error, upstreams_error
from ansible_collections.cutover.deploy.plugins.module_utils._validate import watch_errors


POLL = 0.5  # seconds between readings: a failing release is swapped away from within about this


def combined(rows, slots):
    """(counters, status, response ms) of the new release across its slots' `show stat` rows: the counters summed,
    the status DOWN when any replica is down, the slowest replica's average response time. Pure."""
    names = [slot['name'] for slot in slots]
    statuses = [(rows.get(name) or {}).get('status') or '' for name in names]
    status = next((st for st in statuses if st.startswith('DOWN')), statuses[0] if statuses else '')
    return summed_counters(rows, names), status, slowest_response_ms(rows, names)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            lease=lease_option(),
            proxy=dict(type='dict', default={}, options=proxy_option_spec()),
            route=dict(type='str', required=True),
            upstream=dict(type='str', required=True),
            revert_to=dict(type='str'),
            drain_timeout=dict(type='float', default=30),
            since=dict(type='dict'),
            swapped_at=dict(type='float'),
            settings=dict(type='dict', default={}, apply_defaults=True, options=dict(
                seconds=dict(type='float', default=WATCH_DEFAULTS['seconds']),
                min_success_rate=dict(type='float', default=WATCH_DEFAULTS['min_success_rate']),
                max_response_ms=dict(type='float', default=WATCH_DEFAULTS['max_response_ms']),
                min_requests=dict(type='int', default=WATCH_DEFAULTS['min_requests']),
            )),
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_finite_numbers(module)
    lease = renew_lease(module)
    errors = [e for e in (route_error('route', p['route']), upstreams_error('upstream', p['upstream']),
                          p['revert_to'] and upstreams_error('revert_to', p['revert_to'])) if e]
    errors += watch_errors(p['settings'], 'settings')
    if errors:
        module.fail_json(msg='; '.join(errors))
    if p['proxy']['type'] != 'haproxy':
        module.fail_json(msg='watch reads HAProxy\'s per-server counters; proxy.type %s has none to read' % p['proxy']['type'])
    settings = watch_settings(p['settings'])
    route, driver = p['route'], make_driver(p['proxy'])
    if module.check_mode:
        module.exit_json(changed=False, passed=True, watch={}, reasons=[],
                         summary='would watch %s on %s for %g s' % (p['upstream'], route, settings['seconds']))

    def reading(slots):
        return combined(driver.server_stats(route), slots)

    try:
        slots = serving_slots(driver.slots(route), p['upstream'], 'new release')
        start, _status, _rtime = reading(slots)
        if p['since'] and all(p['since'].get(s['name']) for s in slots):
            start = combined(p['since'], slots)[0]  # from the swap on
        began = time.monotonic()
        end = began + settings['seconds']
        while True:
            now = time.monotonic()
            final = now >= end
            current, status, rtime = reading(slots)
            traffic = step_traffic(start, current, rtime)
            decision, reasons = judge_watch(traffic, status, settings, final)
            if decision != 'watch':
                break
            gone = run_gone(p['lease'])
            if gone:
                module.fail_json(msg='watch stopped: %s' % gone, passed=False, reasons=[gone], summary=gone,
                                 watch=dict(traffic, watched_seconds=round(now - began, 2), status=status))
            lease.renew(every=10)
            time.sleep(min(POLL, max(0.0, end - time.monotonic())))
        watched = dict(traffic, watched_seconds=round(time.monotonic() - began, 2), status=status)
        summary = '%s in %.1f s' % (traffic_summary(traffic), watched['watched_seconds'])
        if p['swapped_at']:
            watched['since_swap_seconds'] = round(time.time() - p['swapped_at'], 2)
        if decision == 'keep':
            module.exit_json(changed=False, passed=True, watch=watched, reasons=reasons, summary=summary)
        back = ''
        if p['revert_to']:  # at once: every request from here on goes to the release that served before
            swap = run_swap(driver, route, p['revert_to'], p['drain_timeout'], guard=proxy_guard(False))
            watched['reverted_to'], back = p['revert_to'], '; the route is back on %s' % p['revert_to']
            if p['swapped_at'] and swap.get('swapped_at'):
                watched['since_swap_seconds'] = round(swap['swapped_at'] - p['swapped_at'], 2)
    except (ProxyError, LockTimeout) as exc:
        module.fail_json(msg='watch: %s' % exc, passed=False, reasons=[str(exc)], summary=str(exc))
    module.fail_json(msg='the new release failed its watch after %.1f s: %s (%s)%s'
                         % (watched['watched_seconds'], '; '.join(reasons), summary, back),
                     passed=False, changed=bool(back), watch=watched, reasons=reasons, summary=summary)


if __name__ == '__main__':
    main()
