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
  - The lock records the process the play runs under on the host (ansible-playbook for a local
    connection, the SSH session otherwise). When that process is gone, the lock is stale and is broken
    with a warning. Holders that cannot be identified get a lease of O(ttl) seconds.
author: Cutover contributors (@cutover)
options:
  service:
    description: Service name.
    type: str
    required: true
  state:
    description: C(acquired) takes the lock, C(released) gives it back (only if O(run_id) holds it).
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
  ttl:
    description: Lease in seconds for a holder whose process cannot be identified.
    type: int
    default: 3600
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
    description: Taking a lock this run holds, or releasing one it does not hold, changes nothing.
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
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._lock import (
    describe_holder, lock_path, lock_verdict, play_process, read_holder, try_create,
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
            ttl=dict(type='int', default=3600),
            state_dir=dict(type='path', default='/var/lib/cutover'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_valid_service(module)
    if p['wait'] < 0:
        module.fail_json(msg='wait must be 0 or more (cutover_lock_wait), got %s' % p['wait'])
    path = lock_path(p['state_dir'], p['service'])
    current = read_holder(path)

    if p['state'] == 'released':
        if not current or current.get('run_id') != p['run_id']:
            module.exit_json(changed=False, holder=current, broke_stale=None)
        if not module.check_mode:
            os.unlink(path)
        module.exit_json(changed=True, holder=None, broke_stale=None)

    if current and current.get('run_id') == p['run_id']:
        module.exit_json(changed=False, holder=current, broke_stale=None)
    now = time.time()
    record = dict(run_id=p['run_id'], holder=p['holder'], since=now, expires=now + p['ttl'],
                  process=play_process(), host_pid=os.getpid())
    if module.check_mode:
        module.exit_json(changed=True, holder=record, broke_stale=None)
    os.makedirs(p['state_dir'], exist_ok=True)
    deadline = time.monotonic() + p['wait']
    broke = None
    while True:
        if try_create(path, record):
            module.exit_json(changed=True, holder=record, broke_stale=broke)
        current = read_holder(path)
        if current is None:
            continue  # released between our create and read: try again
        if lock_verdict(current, time.time()) == 'stale':
            module.warn('breaking the stale deploy lock of %s held by %s: its process is gone'
                        % (p['service'], describe_holder(current)))
            broke = current
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            continue
        if time.monotonic() >= deadline:
            module.fail_json(msg='another deploy of %s holds the lock: %s (waited %ss; set cutover_lock_wait to wait longer)'
                             % (p['service'], describe_holder(current), p['wait']), holder=current)
        time.sleep(0.5)


if __name__ == '__main__':
    main()
