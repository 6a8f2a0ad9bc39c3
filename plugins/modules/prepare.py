#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: prepare
short_description: Take the deploy lock, ensure the proxy route and converge a service, in one step
version_added: 1.0.0
description:
  - The first step of a deploy, rollback or status run on a host, in one module run. It takes the service's
    deploy lock (as M(cutover.deploy.deploy_lock) does), ensures the proxy runs and serves the route (as
    M(cutover.deploy.proxy_site) does), and repairs what an interrupted run left behind (as
    M(cutover.deploy.reconcile) does). It returns the service's live release and history.
  - When the lock is held by another run, it fails naming the holder, or, with O(lock.required=false),
    reports the state without repairing anything (RV(locked) is false).
  - Behind a shared load balancer (O(route_upstream) given) the route lives on another host, so the caller
    takes the lock and ensures the route there first (O(lock) then only renews it).
  - On a host whose PID 1 is systemd, with root Podman as the engine (a local socket), it also makes sure the
    services' live containers come back when the host boots, as Docker's restart policy does for Docker;
    it writes and enables a oneshot unit of Cutover's own (C(cutover-podman-start.service), one per O(state_dir))
    that starts each service's live container at boot (RV(containers_at_boot)). Podman 4.3's own
    C(podman-restart.service) starts only containers with restart policy C(always), stopped kept releases too.
  - On failure after the lock was taken, the lock stays held by O(lock.run_id); the roles release it at the end
    of the run, whatever happened.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
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
    description: Folder of the state and lock files.
    type: path
    default: /var/lib/cutover
  stop_timeout:
    description: Seconds between SIGTERM and SIGKILL when a replaced container is retired.
    type: int
    default: 10
  lock:
    description: The deploy lock to take first. Unset, no lock is taken (the caller holds it).
    type: dict
    suboptions:
      run_id:
        description: This run's id (it releases the lock later).
        type: str
        required: true
      holder:
        description: Who holds it, shown to a blocked run.
        type: str
        default: unknown
      wait:
        description: Seconds to wait for a held lock.
        type: float
        default: 0
      lease:
        description: Seconds the lock lives without renewal (each later step renews it).
        type: int
        default: 300
      required:
        description: With C(false), a lock held by another run means report only, not a failure.
        type: bool
        default: true
  ensure_proxy:
    description: Ensure the proxy runs and serves the route before reading it (with O(proxy.type) other than C(none)).
    type: bool
    default: true
  route_upstream:
    description:
      - The route's upstream as read on a shared load balancer (see M(cutover.deploy.reconcile)); the proxy is then
        neither ensured nor contacted here.
    type: str
attributes:
  check_mode:
    support: full
    description: Takes no lock, starts and writes nothing; reports the proxy actions and the repair plan.
  diff_mode:
    support: full
    description: The proxy's configuration files before and after.
  idempotent:
    support: full
    description: A converged service with its proxy in place reports C(changed=false).
'''

EXAMPLES = r'''
- name: Take the lock, ensure HAProxy serves web and converge it
  cutover.deploy.prepare:
    service: web
    lock:
      run_id: "{{ run_id }}"
      holder: "ops via {{ inventory_hostname }}"
    proxy:
      type: haproxy
      listen: 127.0.0.1:8080
  register: before
'''

RETURN = r'''
locked:
  description: Whether this run holds the lock now (always true without O(lock)).
  returned: always
  type: bool
holder:
  description: The lock record in force.
  returned: always
  type: dict
msg:
  description: Why nothing was repaired, when the lock is held by another run (O(lock.required=false)).
  returned: when not locked
  type: str
proxy_actions:
  description: What ensuring the proxy did (or would do).
  returned: always
  type: list
  elements: str
check_pending:
  description:
    - Whether a changed HAProxy check (O(proxy.check)) was held at a TCP connect while the live release serves; the
      run gives it after its swap (M(cutover.deploy.proxy_site) with O(cutover.deploy.proxy_site#module:settle_check)).
  returned: always
  type: bool
supervision:
  description:
    - How the proxy is kept running on this host (O(proxy.runtime); C(auto) resolved). C(runtime) is
      C(systemd) (with C(unit), C(active), C(enabled), C(restarts)), C(container) (with C(container),
      C(restart_policy), C(running)), C(host) (an unsupervised process, C(running)) or C(external) (Nginx Proxy
      Manager, run by the user); C(supervised) says whether something brings it back after a crash or a reboot.
  returned: when the proxy was ensured
  type: dict
  sample: {runtime: systemd, supervised: true, unit: cutover-haproxy.service, active: true, enabled: true, restarts: 0}
boot_actions:
  description: What making sure the live Podman containers come back at boot did (or would do).
  returned: always
  type: list
  elements: str
  sample: [write /etc/systemd/system/cutover-podman-start.service, enable cutover-podman-start.service]
maintenance:
  description: Whether the route is in maintenance (see M(cutover.deploy.maintenance_mode)); null for a proxy without it (Caddy, NPM).
  returned: always
  type: bool
certificate:
  description:
    - The certificate the proxy serves for this service (the front door with O(proxy.tls)) - C(path) (the file the proxy
      reads; null for Caddy, which keeps it in its config), C(hosts) and C(not_after) (UTC), also kept in the
      service's state for the metrics file
      (C(cutover_tls_certificate_expiry_timestamp_seconds)); null without TLS.
  returned: always
  type: dict
  sample: {path: /etc/cutover/haproxy/certs/web.pem, hosts: [app.example.com], not_after: '2027-03-01T12:00:00Z'}
containers_at_boot:
  description:
    - For Podman, the unit that starts the live containers at boot (C(unit), C(enabled)), or C(unit=null) and
      the C(reason) this host has none (Docker restarts its own; no systemd; rootless or remote Podman).
  returned: after the lock was taken
  type: dict
  sample: {unit: cutover-podman-start.service, enabled: true}
plan:
  description: The repair plan (see M(cutover.deploy.reconcile)); empty when not locked.
  returned: always
  type: dict
live_replicas:
  description:
    - The live release's containers, each with its C(name) and C(upstream), by name (one for a release without
      replicas; none when nothing is live).
  returned: success
  type: list
  elements: dict
  version_added: 1.0.0
live:
  description: The live release after the repair.
  returned: always
  type: dict
proxy_check:
  description:
    - The check HAProxy runs on the route's servers now (C(type) C(http) with C(path) and C(status), or C(tcp)); null
      for another proxy and on a shared load balancer. A rollback compares it with the check the release it returns
      to was recorded with (M(cutover.deploy.green_container)'s O(cutover.deploy.green_container#module:record.check)).
  returned: when the lock is taken (RV(locked))
  type: dict
  version_added: 1.1.0
standby:
  description:
    - The standby (the release a deploy with C(standby) replaced, still running unrouted inside its window) when
      every one of its containers runs, with C(container) (names joined by commas), C(number) (its release) and
      C(upstream) (what they publish now); null otherwise. A rollback to it is one swap, with no green step.
  returned: when the lock is taken (RV(locked))
  type: dict
  version_added: 1.1.0
route_upstream:
  description: What the route pointed at before the repair.
  returned: always
  type: str
previous_good:
  description: The release a rollback returns to (see M(cutover.deploy.release)).
  returned: always
  type: dict
history:
  description: The release history, oldest first.
  returned: always
  type: list
  elements: dict
table:
  description: The live release and history as text lines.
  returned: always
  type: list
  elements: str
summary:
  description: This host's row of a fleet status.
  returned: always
  type: dict
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._engine import Engine, engine_argument_spec
from ansible_collections.cutover.deploy.plugins.module_utils._podman_boot import ensure_boot_unit
from ansible_collections.cutover.deploy.plugins.module_utils._files import LockTimeout, proxy_guard
from ansible_collections.cutover.deploy.plugins.module_utils._lock import LockHeld, acquire
from ansible_collections.cutover.deploy.plugins.module_utils._naming import members
from ansible_collections.cutover.deploy.plugins.module_utils._module import (
    require_finite_numbers, require_valid_service,
)
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import ProxyError
from ansible_collections.cutover.deploy.plugins.module_utils._files import is_pem, read_text
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.drivers import proxy_option_spec
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.front_door import (
    caddy_managed_certificate, cert_path, certificate_not_after, certificate_record)
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.site import (
    CHECK_HELD, ensure_proxy, in_maintenance, proxy_opts_error, route_check)
from ansible_collections.cutover.deploy.plugins.module_utils._reconcile import reconcile
from ansible_collections.cutover.deploy.plugins.module_utils._state import (
    DEFAULT_STATE_DIR, history_table, load_state, new_state, previous_good, release_summary, running_standby, write_state_atomic,
)


def described(state):
    """What every outcome returns about the service's releases."""
    return dict(live=state.get('live'), previous_good=previous_good(state), history=state.get('history') or [],
                table=history_table(state), summary=release_summary(state))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine_argument_spec(),
            proxy=dict(type='dict', default={}, options=proxy_option_spec()),
            service=dict(type='str', required=True),
            route=dict(type='str'),
            state_dir=dict(type='path', default=DEFAULT_STATE_DIR),
            stop_timeout=dict(type='int', default=10),
            lock=dict(type='dict', options=dict(
                run_id=dict(type='str', required=True),
                holder=dict(type='str', default='unknown'),
                wait=dict(type='float', default=0),
                lease=dict(type='int', default=300),
                required=dict(type='bool', default=True),
            )),
            ensure_proxy=dict(type='bool', default=True),
            route_upstream=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_finite_numbers(module)
    require_valid_service(module)
    route = p['route'] or p['service']
    proxy = p['proxy']
    err = proxy_opts_error(proxy, route) if proxy['type'] != 'none' else None
    if err:
        module.fail_json(msg=err)
    result = dict(changed=False, locked=True, holder=None, proxy_actions=[], boot_actions=[], check_pending=False, plan={},
                  route_upstream=None)

    lock = p['lock']
    if lock:
        if lock['wait'] < 0 or lock['lease'] < 1:
            module.fail_json(msg='lock.wait must be 0 or more and lock.lease 1 or more (cutover_lock_wait, cutover_lock_lease)')
        try:
            taken = acquire(p['state_dir'], p['service'], lock['run_id'], lock['holder'], lock['wait'], lock['lease'],
                            module.check_mode, module.warn)
        except LockHeld as exc:
            if lock['required']:
                module.fail_json(msg=str(exc), holder=exc.holder)
            result.update(described(load_state(module)))
            result.update(locked=False, holder=exc.holder, msg=str(exc))
            module.exit_json(**result)
        result.update(holder=taken['holder'], broke_stale=taken['broke_stale'])

    engine = Engine(module)
    if p['ensure_proxy'] and proxy['type'] != 'none' and p['route_upstream'] is None:
        try:
            with proxy_guard(module.check_mode)():
                changed, actions, diff, supervision = ensure_proxy(proxy, p['service'], module.check_mode, lambda: engine,
                                                                   p['engine_host'])
        except (ProxyError, ValueError, LockTimeout) as exc:
            module.fail_json(msg='ensuring the proxy route %s: %s' % (route, exc), service=p['service'])
        result.update(changed=changed, proxy_actions=actions, check_pending=CHECK_HELD in actions, supervision=supervision)
        if diff:
            result['diff'] = diff
    try:  # Podman has no daemon to start the live containers again at boot: a unit of ours does (_podman_boot)
        boot_actions, boot = ensure_boot_unit(engine, p['state_dir'], module.check_mode)
    except ProxyError as exc:
        module.fail_json(msg='ensuring the Podman boot unit: %s' % exc, service=p['service'])
    result.update(changed=result['changed'] or bool(boot_actions), boot_actions=boot_actions, containers_at_boot=boot)
    repaired = reconcile(module, engine, load_state(module), p['service'], route, proxy, p['route_upstream'],
                         p['state_dir'], p['stop_timeout'])
    state = remember_certificate(module, repaired['state'], proxy, p['service'], p['state_dir'], result['locked'])
    result['live_replicas'] = live_replicas(engine, state, p['service'])
    # a rollback to it is one swap: no green step (the rollback role reads this)
    result['standby'] = running_standby(state, repaired['containers'], time.time())
    result.update(changed=result['changed'] or repaired['changed'], plan=repaired['plan'],
                  route_upstream=repaired['route_upstream'], certificate=state.get('certificate'),
                  maintenance=in_maintenance(proxy, p['service']), proxy_check=route_check(proxy, p['service']),
                  **described(state))
    module.exit_json(**result)


def live_replicas(engine, state, service):
    """[{name, upstream}] of the live release's containers, by name (the rolling strategy replaces them in that
    order); read from the engine when there are several."""
    live = state.get('live') or {}
    names = members(live.get('container'))
    if len(names) < 2:
        return [dict(name=live['container'], upstream=live.get('upstream'))] if names else []
    infos, _handles = engine.service_inventory(service)
    return [dict(name=i['name'], upstream=i['upstream']) for i in sorted(infos, key=lambda i: i['name']) if i['name'] in names]


def remember_certificate(module, state, proxy, service, state_dir, locked):
    """The service's state with what it records of the certificate its proxy serves (front door TLS, HAProxy):
    path, host names and expiry, for status and the metrics file; written under the lock when it changed."""
    record = None
    if proxy.get('tls') and proxy['type'] in ('haproxy', 'nginx', 'caddy'):
        # where the proxy reads it: the file Cutover wrote for HAProxy and nginx; Caddy holds it in its own config
        path = None if proxy['type'] == 'caddy' else cert_path(
            proxy['config_dir'] if proxy['type'] == 'haproxy' else os.path.dirname(proxy['conf']), service)
        given = proxy['tls'].get('certificate') or ''
        if path:
            text = read_text(path)
        elif proxy['tls'].get('acme'):  # the one Caddy obtained (none yet: it is on its way)
            path = caddy_managed_certificate(proxy['caddy_dir'], sorted(proxy.get('hosts') or [''])[0])
            text = read_text(path) if path else None
        else:
            text = given if is_pem(given) else read_text(given)
        not_after = certificate_not_after(text or '')
        if not_after is not None:
            record = certificate_record(path, sorted({h.lower() for h in proxy.get('hosts') or []}), not_after)
    if record == state.get('certificate'):
        return state
    state = dict(state or new_state(service))
    if record is None:
        state.pop('certificate', None)
    else:
        state['certificate'] = record
    if locked and not module.check_mode:
        write_state_atomic(state_dir, service, state)
    return state


if __name__ == '__main__':
    main()
