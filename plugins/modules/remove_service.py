#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: remove_service
short_description: Take a service down - its route, then its containers, then its live record
version_added: 1.0.0
description:
  - Removes a service from a host in the order that never sends a request to a container that is going away. First
    its route on the proxy goes - its own listener, or its place on a listener it shares with other services (HAProxy's
    front door), whose other services keep answering (one graceful reload). Then every container of the service is
    removed (live, standby and the stopped ones kept for a rollback). Last, its state records that nothing is live;
    the release history stays, unless O(purge).
  - Runs under the service's deploy lock (O(lease)); the C(cutover.deploy.remove) playbook takes and releases it.
  - A route that cannot be removed (the proxy rejects its new config) fails the step before any container is touched.
  - Nginx Proxy Manager's proxy hosts are the user's own and are left as they are. A service behind a shared load
    balancer (C(cutover_proxy.host)) is refused by the playbook in this release.
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
  state_dir:
    description: Folder of the state files.
    type: path
    default: /var/lib/cutover
  purge:
    description: Also delete the service's state file (its release history) and its last run's step times.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reports the route, containers and files it would remove, and changes nothing.
  diff_mode:
    support: full
    description: The proxy files before and after, the containers removed.
  idempotent:
    support: full
    description: A service already removed yields C(changed=false).
'''

EXAMPLES = r'''
- name: Take web down on this host, keeping its history
  cutover.deploy.remove_service:
    service: web
    proxy:
      listen: 0.0.0.0:443
      hosts: [app.example.com]
'''

RETURN = r'''
proxy_actions:
  description: What was (or would be) done to the proxy, for example C(remove /etc/cutover/haproxy/service-web.cfg), C(reload).
  returned: always
  type: list
  elements: str
removed:
  description: The containers removed (or that would be).
  returned: always
  type: list
  elements: str
state:
  description: C(kept) (nothing live, the history stays), C(purged), or C(none) (there was no state file).
  returned: always
  type: str
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._engine import Engine, engine_argument_spec
from ansible_collections.cutover.deploy.plugins.module_utils._files import LockTimeout, proxy_guard
from ansible_collections.cutover.deploy.plugins.module_utils._metrics import steps_path
from ansible_collections.cutover.deploy.plugins.module_utils._module import lease_option, renew_lease, require_valid_service
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import ProxyError
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.drivers import proxy_option_spec
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.site import remove_route
from ansible_collections.cutover.deploy.plugins.module_utils._state import (
    DEFAULT_STATE_DIR, StateError, read_state, state_path, write_state_atomic,
)
from ansible_collections.cutover.deploy.plugins.module_utils._time import iso_now


def removed_state(state, now):
    """The state of a service taken down: nothing live, standby or retiring; the history and totals stay. Pure."""
    kept = {k: v for k, v in state.items() if k not in ('live', 'standby', 'retiring', 'certificate')}
    return dict(kept, live=None, removed=now)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine_argument_spec(),
            lease=lease_option(),
            proxy=dict(type='dict', default={}, options=proxy_option_spec()),
            service=dict(type='str', required=True),
            state_dir=dict(type='path', default=DEFAULT_STATE_DIR),
            purge=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_valid_service(module)
    renew_lease(module)
    service, check = p['service'], module.check_mode
    engine = Engine(module)
    try:
        state = read_state(p['state_dir'], service)
    except (OSError, StateError) as exc:
        module.fail_json(msg='cannot read the state of %s in state_dir %s: %s' % (service, p['state_dir'], exc))

    # 1. the route: no request reaches the service from here on
    actions, diff = [], {}
    if p['proxy']['type'] != 'none':
        try:
            with proxy_guard(check)():
                _changed, actions, diff = remove_route(p['proxy'], service, check, lambda: engine, p['engine_host'])
        except (ProxyError, ValueError, LockTimeout) as exc:
            module.fail_json(msg='removing the proxy route of %s: %s (no container was touched)' % (service, exc))

    # 2. the containers, every one Cutover made for the service
    containers = sorted(engine.service_containers(service), key=lambda c: c.name)
    removed = [c.name for c in containers]
    if not check:
        for c in containers:
            engine.call('removing container %s' % c.name, c.remove, force=True)

    # 3. the record: nothing live; the history stays unless purged
    if not state:
        outcome = 'none'
    elif p['purge']:
        outcome = 'purged'
        if not check:
            for path in (state_path(p['state_dir'], service), steps_path(p['state_dir'], service)):
                if os.path.exists(path):
                    os.unlink(path)
    else:
        outcome = 'kept'
    # a record still naming something live (or not yet marked removed) is written once; a second run finds it done
    record_changes = outcome == 'kept' and any((state.get('live'), state.get('standby'), state.get('retiring'),
                                               'removed' not in state))
    if record_changes and not check:
        write_state_atomic(p['state_dir'], service, removed_state(state, iso_now()))
    changed = bool(actions) or bool(removed) or outcome == 'purged' or record_changes
    if removed:
        diff = dict(before=(diff.get('before') or '') + ''.join('container %s\n' % n for n in removed),
                    after=diff.get('after') or '')
    module.exit_json(changed=changed, proxy_actions=actions, removed=removed, state=outcome,
                     **({'diff': diff} if diff else {}))


if __name__ == '__main__':
    main()
