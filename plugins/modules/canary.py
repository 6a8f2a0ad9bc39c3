#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: canary
short_description: Send a share of a route's requests to green on HAProxy, step by step, and judge it
version_added: 1.0.0
description:
  - Puts green (O(upstream)) in the route's idle HAProxy server slot beside the live one
    (O(live_upstream)), then for each weight step in O(settings.steps) gives green that percent of the
    new requests (HAProxy server weights, set through the Runtime API with no reload) for
    O(settings.interval) seconds.
  - Reads both servers' counters (C(show stat)) at the start and end of each step and judges green on
    the deltas. Green fails a step when it answered fewer than O(settings.min_requests) requests, when
    its success rate (answers that are not 5xx, with connection and response errors counted as failures)
    is below O(settings.min_success_rate), when that rate is more than O(settings.max_success_drop)
    points below blue's in the same step, or when its average response time is above
    O(settings.max_response_ms).
  - On a failed step green's weight goes to 0 at once (no new requests; in-flight ones finish), and the
    module fails with the analysis of every step so far. The caller then swaps the route back to the live
    upstream (M(cutover.deploy.proxy_swap), which drains green), removes green, and records the release
    as C(rolled_back).
  - After the last step green keeps its share. The caller's swap (M(cutover.deploy.proxy_swap)) makes it
    the only serving slot with its full weight, then drains blue.
  - Before every weight change, and every second of a step, it checks that its run still holds the deploy
    lock and is alive (its play process on this host, or over SSH a reader of its output). When the run is
    gone (its play was killed), green's weight goes to 0, blue gets its full weight back, and the module
    ends, so no orphaned canary weights a release nobody will record. The next run removes green.
  - With replicas, O(live_upstream) and O(upstream) are sets (upstreams joined by commas). The new replicas
    together take each step's share, each one in an idle slot, and the analysis sums each set's counters.
  - HAProxy only. Other proxies have no weights here, and the module fails naming the proxy type.
    On a shared load balancer (O(proxy.member)) only that member's two slots are weighted, out of the
    same full weight as every other member's, so the host's share of the backend stays the same.
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
    description: Green's upstream, C(address:port).
    type: str
    required: true
  live_upstream:
    description: The live (blue) upstream the route serves now, C(address:port).
    type: str
    required: true
  settings:
    description: The canary settings (the role variable C(cutover_canary)).
    type: dict
    default: {}
    suboptions:
      steps:
        description: Green's share of new requests at each step, in percent (increasing, 1-99).
        type: list
        elements: int
        default: [10, 50]
      interval:
        description: Seconds each step lasts.
        type: float
        default: 30
      min_success_rate:
        description: Green's lowest acceptable success rate in a step, in percent.
        type: float
        default: 99
      max_success_drop:
        description: How many percentage points green's success rate may be below blue's in the same step.
        type: float
        default: 1
      max_response_ms:
        description: Green's highest acceptable average response time (HAProxy's C(rtime)), in milliseconds.
        type: float
        default: 500
      min_requests:
        description: Fewest requests green must answer in a step to be judged; C(0) passes a step with no traffic.
        type: int
        default: 10
attributes:
  check_mode:
    support: full
    description: Reads the route and reports the steps it would run, touching nothing.
  diff_mode:
    support: full
    description: Shows the route's servers and weights before and after.
  idempotent:
    support: none
    description: Each run is a new analysis over live traffic.
'''

EXAMPLES = r'''
- name: Give green 10 %, then 50 % of web's requests for 60 s each
  cutover.deploy.canary:
    route: web
    upstream: "{{ green.upstream }}"
    live_upstream: "{{ before.live.upstream }}"
    settings:
      steps: [10, 50]
      interval: 60
  register: canary
'''

RETURN = r'''
steps:
  description:
    - One analysis per step run, in order. Each has C(weight) (green's percent), C(passed), C(reasons) (why
      it failed), C(summary) (the step in words), and C(blue) and C(green), each with C(requests), C(errors), C(http_5xx), C(no_answer),
      C(success_rate) (percent, null without requests) and C(response_ms).
  returned: always
  type: list
  elements: dict
passed:
  description: Whether green passed every step.
  returned: always
  type: bool
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._canary import (
    DEFAULTS, judge_step, slowest_response_ms, step_traffic, step_weights, summed_counters, weight_changes, with_defaults,
)
from ansible_collections.cutover.deploy.plugins.module_utils._files import LockTimeout, proxy_guard
from ansible_collections.cutover.deploy.plugins.module_utils._lock import run_gone
from ansible_collections.cutover.deploy.plugins.module_utils._naming import members
from ansible_collections.cutover.deploy.plugins.module_utils._module import lease_option, renew_lease, require_finite_numbers
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import ProxyError
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.drivers import make_driver, proxy_option_spec
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import serving_slots, slot_role, upstream_of
from ansible_collections.cutover.deploy.plugins.module_utils._checks import route_error, upstreams_error
from ansible_collections.cutover.deploy.plugins.module_utils._validate import canary_errors


def pick_slots(slots, live_upstream, upstream):
    """(blue slots, green slots) for a canary: the slots serving the live release (one, or its replicas) and one
    per green upstream (one holding it already, else an idle one), or raise ProxyError saying why there are none.
    Pure."""
    wanted = members(upstream)
    try:
        blue = serving_slots(slots, live_upstream, 'live upstream')
    except ProxyError as exc:
        raise ProxyError('%s; run status to repair it' % exc)
    green = []
    for u in wanted:
        free = [s for s in slots if s not in blue and s not in green]
        slot = next((s for s in free if upstream_of(s) == u), None)
        if slot is None:
            slot = next((s for s in free if slot_role(s) == 'idle' and upstream_of(s) not in wanted), None)
        if slot is None:
            raise ProxyError('no idle server slot for green: %s' % ', '.join('%s=%s' % (s['name'], slot_role(s)) for s in slots))
        green.append(slot)
    return blue, green


def main():
    module = AnsibleModule(
        argument_spec=dict(
            lease=lease_option(),
            proxy=dict(type='dict', default={}, options=proxy_option_spec()),
            route=dict(type='str', required=True),
            upstream=dict(type='str', required=True),
            live_upstream=dict(type='str', required=True),
            settings=dict(type='dict', default={}, apply_defaults=True, options=dict(
                steps=dict(type='list', elements='int', default=list(DEFAULTS['steps'])),
                interval=dict(type='float', default=DEFAULTS['interval']),
                min_success_rate=dict(type='float', default=DEFAULTS['min_success_rate']),
                max_success_drop=dict(type='float', default=DEFAULTS['max_success_drop']),
                max_response_ms=dict(type='float', default=DEFAULTS['max_response_ms']),
                min_requests=dict(type='int', default=DEFAULTS['min_requests']),
            )),
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_finite_numbers(module)
    lease = renew_lease(module)
    err = route_error('route', p['route']) or upstreams_error('upstream', p['upstream']) \
        or upstreams_error('live_upstream', p['live_upstream'])
    errors = canary_errors(p['settings'], 'settings')
    if err or errors:
        module.fail_json(msg='; '.join(([err] if err else []) + errors))
    if p['proxy']['type'] != 'haproxy':
        module.fail_json(msg='canary needs HAProxy (server weights through its Runtime API); proxy.type is %s '
                             '(use the blue-green strategy there)' % p['proxy']['type'])
    settings = with_defaults(p['settings'])
    route = p['route']
    driver = make_driver(p['proxy'])
    try:
        blue, green = pick_slots(driver.slots(route), p['live_upstream'], p['upstream'])
    except ProxyError as exc:
        module.fail_json(msg=str(exc), steps=[], passed=False)
    full = blue[0]['initial_weight']
    last_blue, last_green = step_weights(settings['steps'][-1], full, len(blue), len(green))
    diff = dict(before='%s -> %s (weight %d)\n' % (route, p['live_upstream'], blue[0]['weight']),
                after='%s -> %s (weight %d), %s (weight %d)\n' % (route, p['live_upstream'], last_blue, p['upstream'], last_green))
    if module.check_mode:
        module.exit_json(changed=True, steps=[], passed=True, diff=diff,
                         plan=['green %s in slot %s, then %s %% for %ss each' % (p['upstream'], ', '.join(g['name'] for g in green),
                               ', '.join(str(s) for s in settings['steps']), settings['interval'])])

    def weigh(slots, weight):
        for slot in slots:
            driver.set_weight(route, slot['name'], weight)

    def stand_down_if_run_gone():
        """An orphaned canary (its play killed) must not go on weighting a release nobody will record:
        green gets no new requests, blue its full weight, and the module ends; the next run removes green."""
        gone = run_gone(p['lease'])  # without a lease (a shared load balancer's host), only the output tells
        if gone is None:
            return
        with proxy_guard(False)():
            # green lowered first on purpose (no new request for it at once), unlike a step's raises-first order: the
            # spread between blue servers may be uneven for one HAProxy round, and no request fails
            weigh(green, 0)
            weigh(blue, full)
            driver.save_state()
        module.fail_json(msg='canary stopped: %s; green %s gets no new requests and %s has its full weight again'
                             % (gone, p['upstream'], p['live_upstream']), steps=analysis, passed=False, changed=True)

    def set_weights(percent):
        stand_down_if_run_gone()
        blue_weight, green_weight = step_weights(percent, full, len(blue), len(green))
        target = dict({b['name']: blue_weight for b in blue}, **{g['name']: green_weight for g in green})
        with proxy_guard(False)():
            for name, weight in weight_changes(weights, target):  # raises first (HAProxy's round robin)
                driver.set_weight(route, name, weight)
                weights[name] = weight
            driver.save_state()

    def read(slots, rows):
        return summed_counters(rows, [slot['name'] for slot in slots])

    analysis = []
    weights = {slot['name']: slot['weight'] for slot in blue}  # each server's weight as this module sets it
    try:
        # green joins at weight 0, then takes the first step's share with blue's weight set beside it
        with proxy_guard(False)():
            for slot, upstream in zip(green, members(p['upstream'])):
                driver.add_unweighted(route, slot, upstream)
                weights[slot['name']] = 0
        for percent in settings['steps']:
            set_weights(percent)
            rows = driver.server_stats(route)
            blue_start, green_start = read(blue, rows), read(green, rows)
            end = time.monotonic() + settings['interval']
            while time.monotonic() < end:
                stand_down_if_run_gone()
                lease.renew(every=10)
                time.sleep(min(1.0, max(0.0, end - time.monotonic())))
            rows = driver.server_stats(route)
            verdict = judge_step(percent, step_traffic(blue_start, read(blue, rows), slowest_response_ms(rows, [b['name'] for b in blue])),
                                 step_traffic(green_start, read(green, rows), slowest_response_ms(rows, [g['name'] for g in green])), settings)
            analysis.append(verdict)
            if not verdict['passed']:
                with proxy_guard(False)():
                    weigh(green, 0)  # no new requests for green from now on
                    driver.save_state()
                module.fail_json(msg='canary analysis failed at %d %%: %s' % (percent, '; '.join(verdict['reasons'])),
                                 steps=analysis, passed=False, changed=True)
    except (ProxyError, LockTimeout) as exc:
        module.fail_json(msg='canary: %s' % exc, steps=analysis, passed=False, changed=True)
    module.exit_json(changed=True, steps=analysis, passed=True, diff=diff)


if __name__ == '__main__':
    main()
