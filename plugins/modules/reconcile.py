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
  - A container being retired (a replaced release whose graceful stop runs in the background, see
    M(cutover.deploy.reap)) is left to stop; one still running past its deadline is killed, and one
    that was to be removed is removed once stopped. Replaced containers stop in the background too.
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
  description: What was (or would be) done. Keys adopt, start, follow, route, retire, remove, cancel, end_standby, weights, retired.
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._engine import Engine, engine_argument_spec
from ansible_collections.cutover.deploy.plugins.module_utils._module import lease_option, renew_lease, require_valid_service
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.drivers import proxy_option_spec
from ansible_collections.cutover.deploy.plugins.module_utils._reconcile import reconcile
from ansible_collections.cutover.deploy.plugins.module_utils._state import DEFAULT_STATE_DIR, load_state
from ansible_collections.cutover.deploy.plugins.module_utils._checks import route_error


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine_argument_spec(),
            lease=lease_option(),
            proxy=dict(type='dict', default={}, options=proxy_option_spec()),
            service=dict(type='str', required=True),
            route=dict(type='str'),
            state_dir=dict(type='path', default=DEFAULT_STATE_DIR),
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
    result = reconcile(module, Engine(module), load_state(module), p['service'], route, p['proxy'], p['route_upstream'],
                       p['state_dir'], p['stop_timeout'])
    result.pop('state')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
