#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: release_command
short_description: Run a release's command (a migration) to completion in a one-off container of its image
version_added: 1.0.0
description:
  - Runs O(command) in a one-off container from O(image) with the service's environment, volumes and networks,
    waits for it to exit, returns its exit code and last log lines (secret values masked), and removes it,
    whatever happens. One an interrupted run left is removed first.
  - A non-zero exit, or O(timeout) reached (the container is killed), fails the module.
  - The recreate role runs it before it stops the old container. Blue-green runs the same thing inside
    M(cutover.deploy.green_container) (its O(cutover.deploy.green_container#module:release_command) option),
    which knows whether the release already runs.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.lease
  - cutover.deploy.engine
  - cutover.deploy.pull
  - cutover.deploy.pull.registry
options:
  service:
    description: The service the release belongs to.
    type: str
    required: true
  image:
    description: The release's image, pulled under O(pull) first.
    type: str
    required: true
  command:
    description: A command line run by C(sh -c) (a string), or the command as a list of strings (exec form).
    type: raw
    required: true
  timeout:
    description: Seconds the command may run.
    type: float
    default: 600
  env:
    description: Environment variables whose values are secret; masked in the returned log lines.
    type: dict
    default: {}
  public_env:
    description: Environment variables that are not secret.
    type: dict
    default: {}
  volumes:
    description: Bind mounts and named volumes as C(source:target[:ro|rw]), as the service's container has them.
    type: list
    elements: str
    default: []
  networks:
    description: Networks to attach the container to (the first replaces the default network).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Runs nothing; says what it would run.
  diff_mode:
    support: none
    description: It changes no file or setting to show; the container it runs is removed.
  idempotent:
    support: none
    description: The command runs on every call; the roles call it only for a release that is not live yet.
'''

EXAMPLES = r'''
- name: Migrate the database before the new release starts
  cutover.deploy.release_command:
    service: web
    image: registry.example.com/web:2.4.1
    command: bin/rails db:migrate
    env:
      DATABASE_URL: "{{ vault_database_url }}"
'''

RETURN = r'''
release_command:
  description: What the command did (also returned when it failed).
  returned: always
  type: dict
  contains:
    exit_code:
      description: The command's exit code.
      type: int
    timed_out:
      description: Whether it ran past its timeout and was killed.
      type: bool
    seconds:
      description: How long it ran.
      type: float
    logs:
      description: Its last 20 log lines, secret values masked.
      type: list
      elements: str
    container:
      description: The one-off container's name (removed).
      type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._engine import Engine, engine_argument_spec
from ansible_collections.cutover.deploy.plugins.module_utils._module import (
    lease_option, renew_lease, require_finite_numbers, require_valid_service,
)
from ansible_collections.cutover.deploy.plugins.module_utils._registry import pull_argument_spec, registry_errors
from ansible_collections.cutover.deploy.plugins.module_utils._release_command import DEFAULT_TIMEOUT, run_release_command, verdict
from ansible_collections.cutover.deploy.plugins.module_utils._checks import env_error, release_command_error, volume_error


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine_argument_spec(),
            lease=lease_option(),
            service=dict(type='str', required=True),
            image=dict(type='str', required=True),
            command=dict(type='raw', required=True),
            timeout=dict(type='float', default=DEFAULT_TIMEOUT),
            env=dict(type='dict', default={}, no_log=True),
            public_env=dict(type='dict', default={}),
            volumes=dict(type='list', elements='str', default=[]),
            networks=dict(type='list', elements='str', default=[]),
            **pull_argument_spec()
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_finite_numbers(module)
    require_valid_service(module)
    lease = renew_lease(module)
    errors = [release_command_error('command', p['command']), env_error('env', p['env'], secret=True),
              env_error('public_env', p['public_env'])] + [volume_error('volumes', v) for v in p['volumes']]
    if p['timeout'] <= 0:
        errors.append('timeout %s is invalid: use seconds above 0' % p['timeout'])
    errors = [e for e in errors if e] + registry_errors(p['registry'], p['image'])
    if errors:
        module.fail_json(msg='; '.join(errors))
    if module.check_mode:
        module.exit_json(changed=True, release_command=None, msg='would run the release command in a one-off container from %s' % p['image'])
    secret = {str(k): str(v) for k, v in p['env'].items()}
    env = dict({str(k): str(v) for k, v in p['public_env'].items() if k not in secret}, **secret)
    engine = Engine(module)
    engine.prepare_registry(p['image'], p['registry'], module.check_mode)
    with lease.held_while('the pull of %s' % p['image']):
        engine.image_for(p['image'], p['pull'], module.check_mode, p['registry'])
    outcome = run_release_command(module, engine, lease, dict(
        service=p['service'], image=p['image'], command=p['command'], timeout=p['timeout'], env=env, secret=secret,
        volumes=p['volumes'], networks=p['networks']))
    passed, message = verdict(outcome)
    if not passed:
        module.fail_json(msg=message, release_command=outcome, changed=True)
    module.exit_json(changed=True, release_command=outcome, msg=message)


if __name__ == '__main__':
    main()
