# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge a service after an interrupted run: the I/O around the pure plan_reconcile (state file,
engine, proxy route). Shared by the reconcile module and the prepare step."""

from __future__ import annotations

import time

from ansible_collections.cutover.deploy.plugins.module_utils._engine import describe
from ansible_collections.cutover.deploy.plugins.module_utils._files import LockTimeout, proxy_guard
from ansible_collections.cutover.deploy.plugins.module_utils._naming import joined, members
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import ProxyError, RouteNotFound, run_swap
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.drivers import make_driver
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.site import PLACEHOLDER_UPSTREAM
from ansible_collections.cutover.deploy.plugins.module_utils._retire import (
    add_retiring, finish_retiring, stop_in_background,
)
from ansible_collections.cutover.deploy.plugins.module_utils._state import (
    finish_release, mark_live, plan_reconcile, rolled_back_by_adoption, with_standby, write_state_atomic,
)
from ansible_collections.cutover.deploy.plugins.module_utils._time import iso_now


SERVING_AGAIN_TIMEOUT = 30  # seconds a restarted live container gets to pass the proxy's check


def read_route(module, proxy, route, route_upstream):
    """(driver or None, what the route points at or None). route_upstream: read on a shared load
    balancer by the caller ('' for no route yet); else the proxy is read here."""
    driver, upstream = None, None
    if route_upstream is not None:
        upstream = route_upstream or None
    elif proxy['type'] != 'none':
        try:
            driver = make_driver(proxy)
            upstream = driver.read(route)
        except RouteNotFound:
            driver = None  # no route yet: the proxy step creates it
        except (ProxyError, ValueError) as exc:
            if not module.check_mode:
                module.fail_json(msg='reconcile cannot read the proxy route %s: %s' % (route, exc))
            # check mode on a host whose proxy is not started yet: plan without the route
            module.warn('check mode: the proxy route %s cannot be read yet (%s)' % (route, exc))
            driver = None
    return driver, (None if upstream == PLACEHOLDER_UPSTREAM else upstream)


def reconcile(module, engine, state, service, route, proxy, route_upstream, state_dir, stop_timeout):
    """Repair what an interrupted run left; returns dict(changed, plan, live, route_upstream, state, containers),
    containers: the service's containers (describe()) as the plan found them."""
    containers, handles = engine.service_inventory(service)
    now = time.time()
    before = state
    state, retire_actions = finish_retiring(engine, state, containers, handles, now, module.check_mode)
    if retire_actions and not module.check_mode:
        containers, handles = engine.service_inventory(service)
    driver, route_upstream = read_route(module, proxy, route, route_upstream)
    weighted = bool(driver is not None and route_upstream and driver.weights_off(route))
    plan = plan_reconcile(state, containers, route_upstream, now, weighted)
    plan['retired'] = retire_actions
    changed = any(plan.values())
    if module.check_mode or not changed:
        if not module.check_mode and state != before:
            write_state_atomic(state_dir, service, state)  # finished retirements dropped
        return dict(changed=changed, plan=plan, live=state.get('live'), route_upstream=route_upstream, state=state,
                    containers=containers)

    stamp = iso_now()
    history = state.get('history') or []
    if plan['adopt']:
        infos = [c for c in containers if c['name'] in members(plan['adopt'])]  # one, or a release's replicas
        upstream = joined(i['upstream'] for i in infos)
        entry = next((h for h in reversed(history) if h.get('container') == plan['adopt']), None)
        if entry is not None:
            left = rolled_back_by_adoption(state, entry)
            state = mark_live(state, entry['number'], plan['adopt'], upstream, stamp)
            if left is not None:
                state = finish_release(state, left, 'rolled_back', stamp,
                                       'the route was found on release %d: a rollback ended before it was recorded'
                                       % entry['number'])
        else:
            state = dict(state, live=dict(container=plan['adopt'], upstream=upstream, number=None,
                                          release_id=infos[0]['release'], image=infos[0]['image'],
                                          image_id=infos[0]['image_id'], since=stamp))
        module.warn('adopted %s as the live container of %s: the route already pointed at it' % (plan['adopt'], service))
    adopted_number = (state.get('live') or {}).get('number') if plan['adopt'] else None
    for number in plan['cancel']:
        if number != adopted_number:
            state = finish_release(state, number, 'cancelled', stamp, 'the run that started it ended before it finished')
    if plan['end_standby']:
        state = with_standby(state, None)
    if plan['follow']:
        module.warn('the live container of %s is published on %s, not %s as recorded: following it'
                    % (service, plan['follow'], state['live'].get('upstream')))
        state = dict(state, live=dict(state['live'], upstream=plan['follow']))
    if plan['start']:
        for name in members(plan['start']):
            engine.call('starting the live container %s' % name, handles[name].start)
            handles[name].reload()
        upstreams = [describe(handles[name])['upstream'] for name in members(state['live']['container'])]
        upstream = joined(upstreams) if all(upstreams) else None
        # An ephemeral host port is chosen again at each start: follow it in the state and the route.
        if upstream and upstream != state['live'].get('upstream'):
            state = dict(state, live=dict(state['live'], upstream=upstream))
            if route_upstream is not None:
                plan['route'] = upstream
    # replaced and standby-expired containers stop in the background, kept for rollback
    state = add_retiring(state, plan['retire'], False, stop_timeout, time.time())
    write_state_atomic(state_dir, service, state)

    if plan['route'] and driver is not None:
        try:
            run_swap(driver, route, plan['route'], 30, guard=proxy_guard(module.check_mode))
        except (ProxyError, LockTimeout) as exc:
            module.fail_json(msg='reconcile could not point %s back at the live container: %s' % (route, exc), plan=plan)
    if plan['start'] and driver is not None:
        # the run ends when the service answers again, not when its container has merely started
        try:
            if driver.wait_serving(route, state['live']['upstream'], SERVING_AGAIN_TIMEOUT) is False:
                module.warn('%s was started again but does not pass the proxy\'s health check after %d s'
                            % (plan['start'], SERVING_AGAIN_TIMEOUT))
        except ProxyError as exc:
            module.warn('the proxy could not be asked whether %s is back: %s' % (plan['start'], exc))
    if plan['weights']:
        module.warn('the route %s carried the weights a canary left: each server has its own again' % route)
        try:
            with proxy_guard(module.check_mode)():
                driver.reset_weights(route)
        except (ProxyError, LockTimeout) as exc:
            module.fail_json(msg='reconcile could not give the servers of %s their weights back: %s' % (route, exc), plan=plan)
    stop_in_background(engine, [(name, False) for name in plan['retire']], stop_timeout)
    for name in plan['remove']:
        # orphaned greens never served a request: no graceful stop to wait for
        engine.call('removing orphaned container %s' % name, handles[name].remove, force=True)
    return dict(changed=True, plan=plan, live=state.get('live'), route_upstream=route_upstream, state=state,
                containers=containers)
