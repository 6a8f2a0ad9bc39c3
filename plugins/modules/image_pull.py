#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: image_pull
short_description: Make sure a host's engine has an image before a rollout batch starts
version_added: 1.0.0
description:
  - Pulls O(image) under the pull policy O(pull), and nothing else (no container is created).
  - The deploy playbook runs it on every host of a batch before any host of that batch starts a new
    container, so a registry failure on one host stops the batch before it is half moved.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.engine
  - cutover.deploy.pull
  - cutover.deploy.pull.registry
options:
  image:
    description: Image reference, such as C(registry.example.com/web:2.4.1).
    type: str
    required: true
attributes:
  check_mode:
    support: full
    description: Reports the pull it would do; never pulls.
  diff_mode:
    support: none
    description: Nothing to compare; the image id is returned.
  idempotent:
    support: full
    description: With C(pull=missing), a second run finds the image and reports C(changed=false).
'''

EXAMPLES = r'''
- name: Have the new image on every host of the batch first
  cutover.deploy.image_pull:
    image: registry.example.com/web:2.4.1
    pull: missing

- name: The same from a private registry with its own CA
  cutover.deploy.image_pull:
    image: registry.example.com:5000/team/web:2.4.1
    pull: always  # the tag may have moved on the registry
    registry:
      username: deploy
      password: "{{ registry_password }}"
      ca_cert: "{{ lookup('ansible.builtin.file', 'registry-ca.pem') }}"
'''

RETURN = r'''
image_id:
  description: The image's id on the engine (null in check mode when it would be pulled).
  returned: success
  type: str
pulled:
  description: Whether the image was (or, in check mode, would be) pulled.
  returned: success
  type: bool
actions:
  description: "What was done, such as C(pull web:2) or C(trust CA of registry.example.com:5000 (PATH))."
  returned: success
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._engine import Engine, engine_argument_spec
from ansible_collections.cutover.deploy.plugins.module_utils._registry import pull_argument_spec, registry_errors


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine_argument_spec(),
            image=dict(type='str', required=True),
            **pull_argument_spec()
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not p['image'].strip():
        module.fail_json(msg='image must be an image reference, got an empty string')
    errors = registry_errors(p['registry'], p['image'])
    if errors:
        module.fail_json(msg='; '.join(errors))
    engine = Engine(module)
    actions = engine.prepare_registry(p['image'], p['registry'], module.check_mode)
    image, pulled = engine.image_for(p['image'], p['pull'], module.check_mode, p['registry'])  # check mode never pulls
    if pulled:
        actions.append('pull %s' % p['image'])
    module.exit_json(changed=bool(actions), pulled=pulled, image_id=image.id if image is not None else None,
                     actions=actions)


if __name__ == '__main__':
    main()
