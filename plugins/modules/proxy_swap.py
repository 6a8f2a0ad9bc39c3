#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: proxy_swap
short_description: Repoint a service's proxy route to a new upstream in place, then drain the old one
version_added: 0.1.0
description:
  - Reads the route's current upstream, sets the new one as a pure upsert (never delete then add,
    so there is no moment without a route), reads it back, and drains the old upstream.
  - A read-back that differs puts the previous upstream back and fails. An unreachable proxy, a
    missing route or a rejected config fails with a clear message and leaves the live route as it was.
  - Returns RV(previous) so a rollback can swap back.
  - HAProxy (default) swaps through its Runtime API with no reload; Caddy through its admin API;
    nginx through an upstream include file and a graceful reload; Nginx Proxy Manager through its
    REST API. See C(docs/proxies.md) for each one's swap, drain and measured cost.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.lease
  - cutover.deploy.proxy
options:
  route:
    description:
      - The service's route on the proxy. HAProxy backend name; Caddy C(@id) of the reverse_proxy
        handler; nginx upstream file name (without C(.conf)); Nginx Proxy Manager proxy host id or domain.
    type: str
    required: true
  upstream:
    description: New upstream, C(address:port), normally RV(cutover.deploy.green_container#module:upstream).
    type: str
    required: true
  drain_timeout:
    description: Seconds to wait for the old upstream's in-flight requests to finish.
    type: float
    default: 30
attributes:
  check_mode:
    support: full
    description: Reads the current upstream and reports the swap it would make, touching nothing.
  diff_mode:
    support: full
    description: Shows the route's upstream before and after.
  idempotent:
    support: full
    description: Swapping to the upstream that is already live reports C(changed=false).
'''

EXAMPLES = r'''
- name: Swap the web backend on HAProxy to green
  cutover.deploy.proxy_swap:
    route: web
    upstream: "{{ green.upstream }}"
    proxy:
      type: haproxy
      admin_socket: /run/cutover/haproxy/admin.sock
  register: swap

- name: Roll back to the previous upstream
  cutover.deploy.proxy_swap:
    route: web
    upstream: "{{ swap.previous }}"

- name: Nginx Proxy Manager
  cutover.deploy.proxy_swap:
    route: app.example.com
    upstream: 127.0.0.1:32770
    proxy:
      type: npm
      url: http://127.0.0.1:81
      email: admin@example.com
      password: "{{ vault_npm_password }}"
'''

RETURN = r'''
previous:
  description: The upstream the route had before (null if it had none). Swap back to it to roll back.
  returned: success
  type: str
  sample: 127.0.0.1:32768
upstream:
  description: The route's upstream now.
  returned: success
  type: str
  sample: 127.0.0.1:32770
drained:
  description:
    - Whether the old upstream's in-flight requests ended within O(drain_timeout).
    - Null if there was nothing to drain, or the proxy cannot observe in-flight requests (Nginx Proxy Manager).
  returned: success
  type: bool
swap_seconds:
  description: Seconds from the proxy call to a matching read-back.
  returned: changed
  type: float
drain_seconds:
  description: Seconds spent draining.
  returned: changed
  type: float
counters_at_swap:
  description:
    - HAProxy's request counters of each of the route's server slots, read just before the swap (null for other
      proxies). M(cutover.deploy.watch) counts the new release's requests from them.
  returned: changed
  type: dict
  version_added: 1.0.0
swapped_at:
  description: When the route was changed, in seconds since the epoch on the proxy's host.
  returned: changed
  type: float
  version_added: 1.0.0
plan:
  description: Ordered steps of the swap (empty when nothing changes).
  returned: success
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._files import LockTimeout, proxy_guard

from ansible_collections.cutover.deploy.plugins.module_utils._module import lease_option, renew_lease, require_finite_numbers

from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import ProxyError, run_swap
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.drivers import make_driver, proxy_option_spec
from ansible_collections.cutover.deploy.plugins.module_utils._checks import route_error, upstreams_error


def main():
    module = AnsibleModule(
        argument_spec=dict(
            lease=lease_option(),
            proxy=dict(type='dict', default={}, options=proxy_option_spec()),
            route=dict(type='str', required=True),
            upstream=dict(type='str', required=True),
            drain_timeout=dict(type='float', default=30),
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_finite_numbers(module)
    renew_lease(module)
    err = route_error('route', p['route']) or upstreams_error('upstream', p['upstream'])
    if err:
        module.fail_json(msg=err)
    try:
        driver = make_driver(p['proxy'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if p['drain_timeout'] < 0:
        module.fail_json(msg='drain_timeout must be 0 or more, got %s' % p['drain_timeout'])
    try:
        result = run_swap(driver, p['route'], p['upstream'], p['drain_timeout'], module.check_mode, guard=proxy_guard(module.check_mode))
    except (ProxyError, LockTimeout) as exc:
        module.fail_json(msg=str(exc), route=p['route'], upstream=p['upstream'])
    result['diff'] = dict(before='%s -> %s\n' % (p['route'], result['previous']),
                          after='%s -> %s\n' % (p['route'], p['upstream']))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
