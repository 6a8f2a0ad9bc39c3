#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: validate_strategy
short_description: Resolve and validate a service's deploy strategy
version_added: 0.1.0
description:
  - Resolves the effective deploy strategy (C(recreate), C(blue-green), C(canary) or C(rolling)) for a service and
    rejects what the deployer would not honour, before anything touches a host.
  - The empty value is the back-compat default and resolves per source kind. An image deploys
    blue-green; a compose stack recreates; exclusive volumes force recreate.
  - C(canary) needs a proxy that splits requests by weight (HAProxy).
  - C(rolling) needs O(replicas) above 1 (with one container, blue-green does the same in one step).
  - An action plugin of the same name resolves it on the controller (no module run on the host).
author: Cutover contributors (@cutover)
options:
  strategy:
    description: Requested strategy.
    type: str
    default: ''
  source:
    description: Kind of source being deployed. C(compose) deploys recreate or blue-green (its routed service), not canary or rolling.
    type: str
    default: image
    choices: [image, compose]
  exclusive_volumes:
    description:
      - The service mounts a writable volume that must not be mounted by two containers at once.
      - Forces C(recreate) when O(strategy) is empty and rejects an explicit C(blue-green).
    type: bool
    default: false
  proxy_type:
    description: The service's proxy type (C(cutover_proxy.type)). C(canary) needs C(haproxy).
    type: str
    default: haproxy
  replicas:
    description: The containers a release runs on the host (C(cutover_replicas)).
    type: int
    default: 1
    version_added: 1.0.0
attributes:
  action:
    support: full
    description: Runs on the controller through its action plugin.
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
  idempotent:
    support: full
    description: Always returns C(changed=false).
'''

EXAMPLES = r'''
- name: Resolve the strategy for an image deploy (empty means blue-green)
  cutover.deploy.validate_strategy:
    strategy: ""
  register: strategy

- name: A service whose data volume must never be mounted twice
  cutover.deploy.validate_strategy:
    exclusive_volumes: true
  register: strategy  # effective_strategy == 'recreate'
'''

RETURN = r'''
effective_strategy:
  description: The strategy the deploy will run.
  returned: success
  type: str
  sample: blue-green
requested_strategy:
  description: The strategy as given.
  returned: success
  type: str
  sample: ''
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._strategy import ARGUMENT_SPEC, StrategyError, resolve_strategy


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    try:
        effective = resolve_strategy(p['strategy'], p['source'], p['exclusive_volumes'], p['proxy_type'], p['replicas'])
    except StrategyError as exc:
        module.fail_json(msg=str(exc), requested_strategy=p['strategy'])
    module.exit_json(changed=False, effective_strategy=effective, requested_strategy=p['strategy'])


if __name__ == '__main__':
    main()
