#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: proxy_site
short_description: Ensure a proxy runs and serves a service's route
version_added: 0.1.0
description:
  - Ensures the proxy exists for a service, a frontend listening on O(proxy.listen) and the
    service's route, and that the proxy process runs. This is the module behind the C(proxy) role.
  - HAProxy runs as a host process or as a container on the same engine (O(proxy.runtime));
    nginx and Caddy run as host processes. On hosts without systemd the module starts the proxy
    itself and reloads it gracefully when its configuration changed.
  - Only what differs is written; a rejected configuration is rolled back before anything reloads.
    An existing route keeps its live upstream, so running this again never undoes a swap.
  - Before HAProxy's first start, each address its configuration binds must be free. HAProxy would start beside
    another process listening there (C(SO_REUSEPORT)) and share its requests, so an address in use fails the module,
    naming it, and nothing is written.
  - Nginx Proxy Manager is run by the user; for it this module checks that the route exists.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.lease
  - cutover.deploy.engine
  - cutover.deploy.proxy
options:
  service:
    description: The service the route is for (HAProxy backend, Caddy @id, nginx upstream name).
    type: str
    required: true
  route:
    description: The route on the proxy. Defaults to O(service) (for C(npm), the proxy host id or domain).
    type: str
  settle_check:
    description:
      - HAProxy. Give the service the check O(proxy.check) asks for even when it differs from the one its config
        has. Without it such a change is held at a TCP connect (RV(check_pending)), because HAProxy runs one check on
        every server of the backend and the release serving now may not answer the new health path.
      - The roles set it after their swap, when only the new release serves.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reports the files it would write and whether it would start or reload the proxy.
  diff_mode:
    support: full
    description: Shows the configuration files before and after.
  idempotent:
    support: full
    description: A second run with the same input changes nothing.
'''

EXAMPLES = r'''
- name: HAProxy in front of web on 127.0.0.1:8080
  cutover.deploy.proxy_site:
    service: web
    proxy:
      type: haproxy
      listen: 127.0.0.1:8080

- name: The same HAProxy as a container on the Docker engine
  cutover.deploy.proxy_site:
    service: web
    proxy:
      type: haproxy
      runtime: container
      image: docker.io/library/haproxy:2.6
'''

RETURN = r'''
supervision:
  description:
    - How the proxy is kept running on this host (O(proxy.runtime); C(auto) resolved). C(runtime) is
      C(systemd) (with C(unit), C(active), C(enabled), C(restarts)), C(container) (with C(container),
      C(restart_policy), C(running)), C(host) (an unsupervised process, C(running)) or C(external) (Nginx Proxy
      Manager, run by the user); C(supervised) says whether something brings it back after a crash or a reboot.
  returned: success
  type: dict
  sample: {runtime: systemd, supervised: true, unit: cutover-haproxy.service, active: true, enabled: true, restarts: 0}
actions:
  description: What the module did (or would do).
  returned: always
  type: list
  elements: str
upstream:
  description: The route's current upstream (null when the route is new).
  returned: success
  type: str
check_pending:
  description: Whether a changed O(proxy.check) was held at a TCP connect, for a run with O(settle_check) to give.
  returned: always
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._files import LockTimeout, proxy_guard

from ansible_collections.cutover.deploy.plugins.module_utils._engine import Engine, engine_argument_spec
from ansible_collections.cutover.deploy.plugins.module_utils._module import lease_option, renew_lease, require_valid_service
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import ProxyError
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.drivers import make_driver, proxy_option_spec
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.site import CHECK_HELD, PLACEHOLDER_UPSTREAM, ensure_proxy, proxy_opts_error


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine_argument_spec(),
            lease=lease_option(),
            proxy=dict(type='dict', default={}, options=proxy_option_spec()),
            service=dict(type='str', required=True),
            route=dict(type='str'),
            settle_check=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    opts = p['proxy']
    require_valid_service(module)
    renew_lease(module)
    if opts['type'] == 'none':
        module.exit_json(changed=False, actions=[], upstream=None, check_pending=False, msg='proxy.type is none: nothing to ensure')
    route = p['route'] or p['service']
    err = proxy_opts_error(opts, route)
    if err:
        module.fail_json(msg=err)
    try:
        with proxy_guard(module.check_mode)():
            changed, actions, diff, supervision = ensure_proxy(
                dict(opts, settle_check=p['settle_check']), p['service'], module.check_mode, lambda: Engine(module),
                p['engine_host'])
        upstream = None
        if not (module.check_mode and 'start' in actions):
            upstream = make_driver(opts).read(route)
    except (ProxyError, ValueError, LockTimeout) as exc:
        module.fail_json(msg=str(exc), service=p['service'])
    if upstream == PLACEHOLDER_UPSTREAM:
        upstream = None
    module.exit_json(changed=changed, actions=actions, upstream=upstream, diff=diff, check_pending=CHECK_HELD in actions,
                     supervision=supervision)


if __name__ == '__main__':
    main()
