#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: maintenance_mode
short_description: Put a service's route in maintenance (503 with a page) or back on the live release
version_added: 1.0.0
description:
  - With O(state=on) the service's route answers every request with C(503 Service Unavailable), the page (O(page),
    or a plain one) and C(Retry-After 60); no request reaches a container. With O(state=off) the route serves the live
    release again.
  - HAProxy, nginx and Caddy. Every HAProxy backend Cutover writes has the rule, off until the service's
    maintenance ACL file (next to its config) holds C(on); the switch is made at run time through the Runtime API
    (C(add acl), C(del acl)), with no reload, and written to that file so a restart keeps it; a changed page is
    loaded with one graceful reload. Every nginx location Cutover writes answers 503 while the service's flag file
    (C(maintenance/<service>.on) next to its config) exists, which nginx checks on every request, so nothing reloads.
    On Caddy a 503 handler is put in front of the service's proxy handler through the admin API (a graceful reload),
    and taken out again; the same flag file records it.
  - Deploys, rollbacks and status leave maintenance as it is - a release deployed during maintenance goes live behind
    it, and the route serves it once maintenance is off.
  - The C(cutover.deploy.maintenance) playbook runs it under the service's deploy lock.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.lease
  - cutover.deploy.engine
  - cutover.deploy.proxy
options:
  service:
    description: Service name; its route must exist on the proxy (a deploy made it).
    type: str
    required: true
  state:
    description: C(on) answers 503 with the page, C(off) serves the live release.
    type: str
    choices: ['on', 'off']
    required: true
  page:
    description: The HTML the route answers with while on. Unset, the page it has (a plain one at first) stays.
    type: str
attributes:
  check_mode:
    support: full
    description: Reports what it would switch or write, and changes nothing.
  diff_mode:
    support: full
    description: The maintenance state and the page, before and after.
  idempotent:
    support: full
    description: Asking for the state the route is in changes nothing.
'''

EXAMPLES = r'''
- name: Put web in maintenance with our own page
  cutover.deploy.maintenance_mode:
    service: web
    state: 'on'
    page: "{{ lookup('file', 'maintenance.html') }}"

- name: Serve the live release of web again
  cutover.deploy.maintenance_mode:
    service: web
    state: 'off'
'''

RETURN = r'''
maintenance:
  description: Whether the route is in maintenance now (or would be, in check mode).
  returned: always
  type: bool
actions:
  description: What was (or would be) done, for example C(maintenance on), C(write .../web.html), C(reload).
  returned: always
  type: list
  elements: str
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._engine import Engine, engine_argument_spec
from ansible_collections.cutover.deploy.plugins.module_utils._files import LockTimeout, proxy_guard, read_text, write_atomic
from ansible_collections.cutover.deploy.plugins.module_utils._module import lease_option, renew_lease, require_valid_service
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import ProxyError
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.drivers import proxy_option_spec
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.front_door import DEFAULT_MAINTENANCE_PAGE, MAINTENANCE_ON
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import HAProxy
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.site import in_maintenance, maintenance_files, make_site


def plan(was_on, want_on, page_before, page_after):
    """The actions that take the route from what it is to what is asked. Pure."""
    actions = []
    if page_after is not None and page_after != page_before:
        actions.append('write page')
    if was_on != want_on:
        actions.append('maintenance %s' % ('on' if want_on else 'off'))
    return actions


def switch(site, opts, service, want_on, page, check_mode):
    """(actions, diff, on): the route in or out of maintenance, its page written; raises ProxyError."""
    flag, page_path = maintenance_files(opts, service)
    haproxy = opts['type'] == 'haproxy'
    if opts['type'] == 'caddy':  # its route is checked in Caddy's config (set_maintenance)
        if not check_mode and not os.path.exists(page_path):
            write_atomic(page_path, DEFAULT_MAINTENANCE_PAGE)  # the page it answers with: a plain one at first
    elif not os.path.exists(site.service_file(service)):
        raise ProxyError('service %s has no route on this %s (%s): deploy it first' % (service, opts['type'], site.config_dir))
    elif not os.path.exists(page_path):
        raise ProxyError('the route of %s has no maintenance rule yet: run a deploy or status of it with this release of '
                         'Cutover first' % service)
    was_on, page_before = in_maintenance(opts, service), read_text(page_path)
    actions = plan(was_on, want_on, page_before, page)
    running = site.running()
    if 'write page' in actions:
        actions[actions.index('write page')] = 'write %s' % page_path
        if haproxy and running:
            actions.append('reload')  # HAProxy reads the page when it loads its config (nginx: on every answer)
    diff = dict(before='maintenance: %s\n%s' % ('on' if was_on else 'off', page_before or ''),
                after='maintenance: %s\n%s' % ('on' if want_on else 'off', page if page is not None else page_before or ''))
    if check_mode or not actions:
        return actions, diff, want_on if check_mode else was_on
    if page is not None and page != page_before:
        write_atomic(page_path, page)
    if opts['type'] == 'caddy':  # the 503 handler in Caddy's config (a graceful reload), the flag its record
        site.set_maintenance(service, want_on, page if page is not None else page_before or '')
    if not haproxy:  # nginx looks for the flag file on every request: nothing to reload
        if want_on:
            write_atomic(flag, MAINTENANCE_ON + '\n')
        elif os.path.exists(flag):
            os.unlink(flag)
        return actions, diff, want_on
    write_atomic(flag, MAINTENANCE_ON + '\n' if want_on else '')  # what a restart or reload loads
    if running and 'reload' in actions:
        site.validate()
        site.reload()
    elif running and was_on != want_on:
        answer = HAProxy(site.admin_socket).command('%s acl %s %s' % ('add' if want_on else 'del', flag, MAINTENANCE_ON)).strip()
        if answer and 'done' not in answer.lower():
            raise ProxyError('HAProxy answered %r to switching maintenance %s' % (answer, 'on' if want_on else 'off'))
    return actions, diff, want_on


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine_argument_spec(),
            lease=lease_option(),
            proxy=dict(type='dict', default={}, options=proxy_option_spec()),
            service=dict(type='str', required=True),
            state=dict(type='str', required=True, choices=['on', 'off']),
            page=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_valid_service(module)
    renew_lease(module)
    if maintenance_files(p['proxy'], p['service']) is None:
        module.fail_json(msg='maintenance mode is supported for proxy.type haproxy, nginx and caddy, not %s'
                         % p['proxy']['type'])
    if p['proxy'].get('member'):
        module.fail_json(msg='maintenance mode on a shared load balancer (cutover_proxy.host) is not supported in this '
                         'release')
    engine = Engine(module)
    try:
        with proxy_guard(module.check_mode)():
            site = make_site(p['proxy'], lambda: engine, p['engine_host'])
            actions, diff, on = switch(site, p['proxy'], p['service'], p['state'] == 'on', p['page'], module.check_mode)
    except (ProxyError, LockTimeout) as exc:
        module.fail_json(msg='maintenance of %s: %s' % (p['service'], exc))
    module.exit_json(changed=bool(actions), actions=actions, maintenance=on, diff=diff)


if __name__ == '__main__':
    main()
