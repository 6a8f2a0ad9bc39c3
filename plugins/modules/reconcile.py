#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: reconcile
short_description: Converge a service after an interrupted deploy
version_added: 0.1.0
description:
  - Compares the host state file, the service's containers and the proxy route, and repairs what an
    interrupted deploy (killed play, lost connection, host reboot) left behind, so the route points at a
    running container that the state names.
  - A container the route already points at but the state does not name was swapped in after passing its
    gate; it is adopted as live. A stopped live container is started. A route pointing elsewhere is swapped
    back to the live container. The live container an adopted one replaced is stopped gracefully and kept
    for rollback. Running containers that are neither live nor routed (orphaned greens, never
    served) are removed. Releases a dead run left C(running) are marked C(cancelled).
  - The standby container (see O(cutover.deploy.reap#module:standby)) is left running while its window lasts;
    after it, it is stopped and kept for rollback like any replaced release.
  - Nothing that serves traffic is removed. The deploy roles run it after taking the lock; C(status.yml) runs it too.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.lease
  - cutover.deploy.engine
  - cutover.deploy.proxy
options:
  service:
    description: Service name.
    type: str
    required: true
  route:
    description: The service's route on the proxy. Defaults to O(service).
    type: str
  state_dir:
    description: Folder of the state files.
    type: path
    default: /var/lib/cutover
  stop_timeout:
    description: Seconds between SIGTERM and SIGKILL when retiring a replaced live container.
    type: int
    default: 10
  route_upstream:
    description:
      - The route's upstream as read on a shared load balancer (another host, which this module cannot
        reach), for example the C(upstream) that M(cutover.deploy.proxy_site) returned there; an empty
        string when the route does not exist or routes nowhere yet.
      - When set, the proxy is not contacted at all; a route that must point back at the live container is
        returned in C(plan.route) for the caller to swap on the load balancer.
    type: str
attributes:
  check_mode:
    support: full
    description: Returns the plan without acting.
  diff_mode:
    support: none
    description: The plan is returned instead.
  idempotent:
    support: full
    description: A converged service yields an empty plan and C(changed=false).
'''

EXAMPLES = r'''
- name: Repair what an interrupted deploy of web left behind
  cutover.deploy.reconcile:
    service: web
'''

RETURN = r'''
plan:
  description: What was (or would be) done. Keys adopt, start, follow, route, retire, remove, cancel, end_standby.
  returned: always
  type: dict
live:
  description: The live container after reconciling.
  returned: always
  type: dict
route_upstream:
  description: What the proxy routed to before reconciling.
  returned: always
  type: str
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._files import LockTimeout, proxy_guard

from ansible_collections.cutover.deploy.plugins.module_utils._engine import Engine, describe, engine_argument_spec
from ansible_collections.cutover.deploy.plugins.module_utils._module import lease_option, load_state, renew_lease, require_valid_service
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import ProxyError, RouteNotFound, run_swap
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.drivers import make_driver, proxy_option_spec
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.site import PLACEHOLDER_UPSTREAM
from ansible_collections.cutover.deploy.plugins.module_utils._state import (
    finish_release, mark_live, plan_reconcile, with_standby, write_state_atomic,
)
from ansible_collections.cutover.deploy.plugins.module_utils._validate import route_error


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine_argument_spec(),
            lease=lease_option(),
            proxy=dict(type='dict', default={}, options=proxy_option_spec()),
            service=dict(type='str', required=True),
            route=dict(type='str'),
            state_dir=dict(type='path', default='/var/lib/cutover'),
            stop_timeout=dict(type='int', default=10),
            route_upstream=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_valid_service(module)
    renew_lease(module)
    route = p['route'] or p['service']
    err = route_error('route', route)
    if err:
        module.fail_json(msg=err)
    state = load_state(module)
    engine = Engine(module)
    containers, handles = engine.service_inventory(p['service'])

    driver = None
    route_upstream = None
    if p['route_upstream'] is not None:
        route_upstream = p['route_upstream'] or None  # read on the load balancer by the caller
    elif p['proxy']['type'] != 'none':
        try:
            driver = make_driver(p['proxy'])
            route_upstream = driver.read(route)
        except RouteNotFound:
            driver = None  # no route yet: the proxy role creates it
        except (ProxyError, ValueError) as exc:
            if not module.check_mode:
                module.fail_json(msg='reconcile cannot read the proxy route %s: %s' % (route, exc))
            # check mode on a host whose proxy is not started yet: plan without the route
            module.warn('check mode: the proxy route %s cannot be read yet (%s)' % (route, exc))
            driver = None
    if route_upstream == PLACEHOLDER_UPSTREAM:
        route_upstream = None

    plan = plan_reconcile(state, containers, route_upstream, time.time())
    changed = any(plan.values())
    if module.check_mode or not changed:
        module.exit_json(changed=changed, plan=plan, live=state.get('live'), route_upstream=route_upstream)

    now = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    history = state.get('history') or []
    if plan['adopt']:
        info = next(c for c in containers if c['name'] == plan['adopt'])
        entry = next((h for h in reversed(history) if h.get('container') == info['name']), None)
        if entry is not None:
            state = mark_live(state, entry['number'], info['name'], info['upstream'], now)
        else:
            state = dict(state, live=dict(container=info['name'], upstream=info['upstream'], number=None,
                                          release_id=info['release'], image=info['image'], image_id=info['image_id'],
                                          since=now))
        module.warn('adopted %s as the live container of %s: the route already pointed at it' % (info['name'], p['service']))
    adopted_number = (state.get('live') or {}).get('number') if plan['adopt'] else None
    for number in plan['cancel']:
        if number != adopted_number:
            state = finish_release(state, number, 'cancelled', now, 'the run that started it ended before it finished')
    if plan['end_standby']:
        state = with_standby(state, None)
    if plan['follow']:
        module.warn('the live container of %s is published on %s, not %s as recorded: following it'
                    % (p['service'], plan['follow'], state['live'].get('upstream')))
        state = dict(state, live=dict(state['live'], upstream=plan['follow']))
    if plan['start']:
        live_handle = handles[plan['start']]
        engine.call('starting the live container %s' % plan['start'], live_handle.start)
        live_handle.reload()
        upstream = describe(live_handle)['upstream']
        # An ephemeral host port is chosen again at each start: follow it in the state and the route.
        if upstream and upstream != state['live'].get('upstream'):
            state = dict(state, live=dict(state['live'], upstream=upstream))
            if route_upstream is not None:
                plan['route'] = upstream
    write_state_atomic(p['state_dir'], p['service'], state)

    if plan['start'] and driver is not None and not plan['route']:
        try:
            with proxy_guard(module.check_mode)():
                driver.revive(route, state['live']['upstream'])
        except (ProxyError, LockTimeout) as exc:
            module.warn('the proxy could not be told that %s is back: %s (its health check will find it)' % (plan['start'], exc))
    if plan['route'] and driver is not None:
        try:
            run_swap(driver, route, plan['route'], 30, guard=proxy_guard(module.check_mode))
        except (ProxyError, LockTimeout) as exc:
            module.fail_json(msg='reconcile could not point %s back at the live container: %s' % (route, exc), plan=plan)
    for name in plan['retire']:
        engine.call('stopping the replaced (or standby) container %s' % name, handles[name].stop, timeout=p['stop_timeout'])
    for name in plan['remove']:
        engine.call('stopping orphaned container %s' % name, handles[name].stop, timeout=p['stop_timeout'])
        engine.call('removing orphaned container %s' % name, handles[name].remove)
    module.exit_json(changed=True, plan=plan, live=state.get('live'), route_upstream=route_upstream)


if __name__ == '__main__':
    main()
