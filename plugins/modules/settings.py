#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: settings
short_description: Check every deploy input once and resolve the values Cutover's roles read
version_added: 1.0.0
description:
  - Runs on the controller (an action plugin) and never connects to the host, so bad input changes nothing.
  - Checks what M(cutover.deploy.validate_inputs) checks and, with O(deploy), the image, the container port and
    the strategy (as M(cutover.deploy.validate_strategy) resolves it). Every message names the variable and the
    valid values.
  - Returns, as facts, the values the roles read (C(_cutover_engine_args), C(_cutover_route),
    C(_cutover_proxy_host), C(_cutover_proxy_shared), C(_cutover_lock_lease), C(_cutover_initiator), and with
    O(deploy) C(cutover_strategy_result)).
  - This run's own values (C(_cutover_run_id), C(_cutover_rollout_id), C(_cutover_lease), and C(_cutover_proxy), which
    can carry a password) are returned as RV(run_only) instead, never as facts, so a fact cache (AWX's fact
    storage) keeps neither a password nor an earlier run's ids. The common role calls it and sets those for the run.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.pull.registry
options:
  service: {description: 'C(cutover_service).', type: raw, required: true}
  release: {description: 'C(cutover_release).', type: raw}
  proxy: {description: 'C(cutover_proxy).', type: raw, default: {}}
  volumes: {description: 'C(cutover_volumes).', type: raw, default: []}
  env: {description: 'C(cutover_env) (never logged).', type: raw, default: {}}
  public_env: {description: 'C(cutover_public_env).', type: raw, default: {}}
  labels: {description: 'C(cutover_labels).', type: raw, default: {}}
  health: {description: 'C(cutover_health).', type: raw, default: {}}
  pull: {description: 'C(cutover_pull).', type: raw}
  image: {description: 'C(cutover_image).', type: raw}
  publish_address: {description: 'C(cutover_publish_address).', type: raw}
  rollout: {description: 'The rollout settings (serial, max_fail_percentage, batch_pause, failure_action, id).', type: raw, default: {}}
  canary: {description: 'C(cutover_canary).', type: raw}
  release_command: {description: 'C(cutover_release_command).', type: raw, version_added: 1.0.0}
  watch: {description: 'C(cutover_watch).', type: raw, version_added: 1.0.0}
  replicas: {description: 'C(cutover_replicas).', type: raw, version_added: 1.0.0}
  rolling: {description: 'C(cutover_rolling).', type: raw, version_added: 1.0.0}
  source: {description: 'C(cutover_source) without its credentials.', type: raw}
  engine: {description: 'C(cutover_engine).', type: raw, default: {}}
  numbers: {description: 'The numeric settings by name without the prefix (stop_timeout, drain_timeout, ...).', type: raw, default: {}}
  host: {description: 'The inventory host the settings are for.', type: raw}
  inventory_hosts: {description: 'Every host of the inventory (a shared load balancer must be one).', type: raw}
  prefix: {description: 'The prefix of the variable names in messages.', type: str, default: cutover_}
  deploy: {description: 'Also check the image, the container port and the strategy.', type: bool, default: false}
  proxy_check:
    description:
      - Who decides HAProxy's check of the service, returned in C(_cutover_proxy.check). With V(health) (a deploy's
        run) an HTTP check of C(health.path), or a TCP connect without one. With V(tcp) (a rollback's) a TCP connect,
        which the release it returns to passes whatever its health path. With V(keep) none, the proxy keeps its check.
      - None is derived when C(proxy.check) is set, or on a shared load balancer (C(proxy.host)).
    type: str
    choices: [keep, health, tcp]
    default: keep
  container_port: {description: 'C(cutover_container_port).', type: raw}
  strategy: {description: 'C(cutover_strategy).', type: raw, default: ''}
  exclusive_volumes: {description: 'C(cutover_exclusive_volumes).', type: bool, default: false}
  run_id: {description: 'This run''s id when the play already has one (else a new one).', type: str}
  rollout_id: {description: 'The rollout''s id when it has one (else the AWX job''s, or a new one).', type: str}
  awx_job_id: {description: 'The AWX job id, when run by AWX.', type: raw}
  initiator: {description: 'Who started the run (the AWX user; else the controller''s user).', type: str}
  state_dir: {description: 'C(cutover_state_dir).', type: raw}
attributes:
  check_mode:
    support: full
    description: Changes nothing in any mode.
  diff_mode:
    support: none
    description: Changes nothing.
  idempotent:
    support: full
    description: Always C(changed=false).
'''

EXAMPLES = r'''
- name: Check every input and resolve the settings the roles read
  cutover.deploy.settings:
    service: web
    image: registry.example.com/web:2.4.1
    container_port: 8080
    deploy: true
    host: "{{ inventory_hostname }}"
    inventory_hosts: "{{ groups['all'] }}"
'''

RETURN = r'''
msg:
  description: C(inputs are valid), or every error found.
  returned: always
  type: str
run_only:
  description: This run's own values, keyed by the names the roles read (C(_cutover_run_id), C(_cutover_rollout_id),
    C(_cutover_lease), C(_cutover_proxy)).
  returned: success
  type: dict
  version_added: 1.1.0
'''

import datetime
import getpass

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._settings import ARGUMENT_SPEC, resolve, split_run_only


def main():
    # normally the action plugin answers on the controller; run on a host, the module gives the same answer
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    errors, facts = resolve(module.params, datetime.datetime.now(datetime.timezone.utc), getpass.getuser())
    if errors:
        module.fail_json(msg='; '.join(errors))
    facts, run_only = split_run_only(facts)
    module.exit_json(changed=False, ansible_facts=facts, run_only=run_only, msg='inputs are valid')


if __name__ == '__main__':
    main()
