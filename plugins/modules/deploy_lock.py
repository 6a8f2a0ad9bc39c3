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

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._lock import (
    boot_id, break_if_unchanged, describe_holder, lock_path, lock_verdict, make_record, read_holder, release,
    renew, try_create,
)
from ansible_collections.cutover.deploy.plugins.module_utils._module import require_valid_service


def main():
    module = AnsibleModule(
        argument_spec=dict(
            service=dict(type='str', required=True),
            state=dict(type='str', default='acquired', choices=['acquired', 'released']),
            run_id=dict(type='str', required=True),
            holder=dict(type='str', default='unknown'),
            wait=dict(type='float', default=0),
            lease=dict(type='int', default=300),
            state_dir=dict(type='path', default='/var/lib/cutover'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_valid_service(module)
    if p['wait'] < 0:
        module.fail_json(msg='wait must be 0 or more (cutover_lock_wait), got %s' % p['wait'])
    if p['lease'] < 1:
        module.fail_json(msg='lease must be 1 or more seconds (cutover_lock_lease), got %s' % p['lease'])
    path = lock_path(p['state_dir'], p['service'])
    current = read_holder(path)

    if p['state'] == 'released':
        if not current or current.get('run_id') != p['run_id']:
            module.exit_json(changed=False, holder=current, broke_stale=None)
        if not module.check_mode:
            release(path, p['run_id'])
        module.exit_json(changed=True, holder=None, broke_stale=None)

    if current and current.get('run_id') == p['run_id']:
        renewed = current if module.check_mode else renew(path, p['run_id'], p['lease'])
        module.exit_json(changed=False, holder=renewed, broke_stale=None)
    record = make_record(p['run_id'], p['holder'], p['lease'], time.time())
    if module.check_mode:
        module.exit_json(changed=True, holder=record, broke_stale=None)
    os.makedirs(p['state_dir'], exist_ok=True)
    deadline = time.monotonic() + p['wait']
    broke = why = None
    host_boot = boot_id()
    while True:
        record = make_record(p['run_id'], p['holder'], p['lease'], time.time())
        if try_create(path, record):
            module.exit_json(changed=True, holder=record, broke_stale=broke, broke_reason=why)
        current = read_holder(path)
        if current is None:
            continue  # released between our create and read: try again
        verdict, reason = lock_verdict(current, time.time(), host_boot)
        if verdict == 'stale':
            if break_if_unchanged(path, current):
                module.warn('breaking the stale deploy lock of %s held by %s: %s'
                            % (p['service'], describe_holder(current), reason))
                broke, why = current, reason
            continue
        if time.monotonic() >= deadline:
            module.fail_json(msg='another deploy of %s holds the lock: %s; %s (waited %ss; set cutover_lock_wait to wait longer)'
                             % (p['service'], describe_holder(current), reason, p['wait']), holder=current)
        time.sleep(0.25)


if __name__ == '__main__':
    main()
