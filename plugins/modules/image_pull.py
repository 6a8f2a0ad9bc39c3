#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: image_pull
short_description: Make sure a host's engine has an image before a rollout batch starts
version_added: 0.2.0
description:
  - Pulls O(image) under the pull policy O(pull), and nothing else (no container is created).
  - The deploy playbook runs it on every host of a batch before any host of that batch starts a new
    container, so a registry failure on one host stops the batch before it is half moved.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.engine
options:
  image:
    description: Image reference, such as C(registry.example.com/web:2.4.1).
    type: str
    required: true
  pull:
    description:
      - C(missing) pulls only when the engine does not have O(image); C(always) pulls every time (a moving
        tag such as C(latest)); C(never) only checks that the engine has it.
    type: str
    default: missing
    choices: [missing, always, never]
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
  description: What was done, such as C(pull web:2).
  returned: success
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._engine import Engine, engine_argument_spec


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine_argument_spec(),
            image=dict(type='str', required=True),
            pull=dict(type='str', default='missing', choices=['missing', 'always', 'never']),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not p['image'].strip():
        module.fail_json(msg='image must be an image reference, got an empty string')
    image, pulled = Engine(module).image_for(p['image'], p['pull'], module.check_mode)  # check mode never pulls
    module.exit_json(changed=pulled, pulled=pulled, image_id=image.id if image is not None else None,
                     actions=['pull %s' % p['image']] if pulled else [])


if __name__ == '__main__':
    main()
