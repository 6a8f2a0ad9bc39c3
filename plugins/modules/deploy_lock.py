#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: deploy_lock
short_description: Take or release the per-service deploy lock on a host
version_added: 0.1.0
description:
  - One deploy per service per host at a time. A second deploy fails fast naming the holder and since
    when, or waits up to O(wait) seconds.
  - The lock file is created atomically with its full record (temp file, then a hard link into place).
    The record is a lease of O(lease) seconds that every step of the run renews (the modules' O(lease)
    option, which the roles set through C(module_defaults)); it names the host's boot id, and for a local
    connection the C(ansible-playbook) process the run lives in.
  - A lock whose lease expired without renewal, whose process is gone, or that was taken before the host
    rebooted is stale and is broken with a warning naming the dead holder. Breaking, renewing and
    releasing happen under a short C(flock) guard with a re-check, and a release removes only the record
    of O(run_id).
author: Cutover contributors (@cutover)
options:
  service:
    description: Service name.
    type: str
    required: true
  state:
    description:
      - C(acquired) takes the lock (or renews the lease when O(run_id) holds it already).
      - C(released) gives it back (only if O(run_id) holds it).
    type: str
    default: acquired
    choices: [acquired, released]
  run_id:
    description: Identifies this run; the same run taking the lock again is a no-op.
    type: str
    required: true
  holder:
    description: Who holds it, shown to a blocked deploy (for example the initiator and controller).
    type: str
    default: unknown
  wait:
    description: Seconds to wait for a held lock before failing. C(0) fails at once.
    type: float
    default: 0
  lease:
    description:
      - Seconds the lock stays held without a renewal. Each step of a run renews it, so it must be
        longer than the longest single step (the health gate renews while it waits).
    type: int
    default: 300
  state_dir:
    description: Folder of the lock files.
    type: path
    default: /var/lib/cutover
attributes:
  check_mode:
    support: full
    description: Reports whether the lock could be taken without taking it.
  diff_mode:
    support: none
    description: No diff.
  idempotent:
    support: full
    description: Taking a lock this run holds (a lease renewal), or releasing one it does not hold, changes nothing.
'''

EXAMPLES = r'''
- name: Take the deploy lock for web, waiting up to 2 minutes
  cutover.deploy.deploy_lock:
    service: web
    run_id: "{{ cutover_run_id }}"
    wait: 120
'''

RETURN = r'''
holder:
  description: The lock record now in force (ours after acquired).
  returned: always
  type: dict
broke_stale:
  description: The stale record that was broken, if any.
  returned: always
  type: dict
broke_reason:
  description: Why the broken record was stale (process gone, lease expired, host rebooted).
  returned: when a stale lock was broken
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._lock import LockHeld, acquire, lock_path, read_holder, release
from ansible_collections.cutover.deploy.plugins.module_utils._module import require_finite_numbers, require_valid_service
from ansible_collections.cutover.deploy.plugins.module_utils._state import DEFAULT_STATE_DIR


def main():
    module = AnsibleModule(
        argument_spec=dict(
            service=dict(type='str', required=True),
            state=dict(type='str', default='acquired', choices=['acquired', 'released']),
            run_id=dict(type='str', required=True),
            holder=dict(type='str', default='unknown'),
            wait=dict(type='float', default=0),
            lease=dict(type='int', default=300),
            state_dir=dict(type='path', default=DEFAULT_STATE_DIR),
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_finite_numbers(module)
    require_valid_service(module)
    if p['wait'] < 0:
        module.fail_json(msg='wait must be 0 or more (cutover_lock_wait), got %s' % p['wait'])
    if p['lease'] < 1:
        module.fail_json(msg='lease must be 1 or more seconds (cutover_lock_lease), got %s' % p['lease'])

    if p['state'] == 'released':
        path = lock_path(p['state_dir'], p['service'])
        current = read_holder(path)
        if not current or current.get('run_id') != p['run_id']:
            module.exit_json(changed=False, holder=current, broke_stale=None)
        if not module.check_mode:
            release(path, p['run_id'])
        module.exit_json(changed=True, holder=None, broke_stale=None)
    try:
        result = acquire(p['state_dir'], p['service'], p['run_id'], p['holder'], p['wait'], p['lease'],
                         module.check_mode, module.warn)
    except LockHeld as exc:
        module.fail_json(msg=str(exc), holder=exc.holder)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
