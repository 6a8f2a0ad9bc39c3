#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: release
short_description: Read and record a service's live container and release history on the host
version_added: 0.1.0
description:
  - Keeps one state file per service under O(state_dir), written atomically (temp file, fsync, rename),
    naming the live container and upstream, and the release history.
  - Each release records its number, release id, image reference and id, container, upstream, strategy,
    kind (deploy or rollback), start and finish times, outcome (C(pending), C(running), C(succeeded),
    C(failed), C(rolled_back), C(cancelled)), initiator, and optional notes and commit SHA.
  - The deploy roles call C(action=live) before anything old is removed, so a crash at any point leaves
    a state that names a running container the proxy points at.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.lease
options:
  service:
    description: Service name.
    type: str
    required: true
  state_dir:
    description: Folder of the state files.
    type: path
    default: /var/lib/cutover
  action:
    description:
      - C(read) returns the state. C(begin) records a new release as C(running). C(live) records a release's
        container as live and its outcome as C(succeeded). C(finish) closes a release with O(outcome).
    type: str
    default: read
    choices: [read, begin, live, finish]
  number:
    description: Release number, for C(live) and C(finish).
    type: int
  image:
    description: Image reference (C(begin)).
    type: str
  image_id:
    description: Image id (C(begin)).
    type: str
  release_id:
    description: Release id recorded on the container's labels (C(begin)).
    type: str
  container:
    description: Container name (C(begin), C(live)).
    type: str
  upstream:
    description: Container upstream C(address:port) (C(begin), C(live)).
    type: str
  container_port:
    description: The app's port in the container (C(begin)), so a rollback can redeploy the image.
    type: int
  strategy:
    description: Strategy that ran (C(begin)).
    type: str
  kind:
    description: What started the release (C(begin)).
    type: str
    default: deploy
    choices: [deploy, rollback]
  initiator:
    description: Who started it; the roles pass the AWX/Tower user or the local user (C(begin)).
    type: str
  notes:
    description: Free-form notes (C(begin)).
    type: str
  commit_sha:
    description: Source commit of the image (C(begin)).
    type: str
  rollout:
    description:
      - The id of the rollout (one playbook run across an inventory) this release is part of (C(begin)), so a
        fleet status can tell which hosts a rollout reached.
    type: str
  check:
    description:
      - The HAProxy check (C(type), C(path), C(status)) the release serves under once it is live (C(begin)), so a
        rollback to it can keep that check instead of holding the route at a TCP connect.
    type: dict
    version_added: 1.1.0
  outcome:
    description: Outcome for C(finish) (C(paused), a rolling deploy stopped where it was, version 1.0.0).
    type: str
    choices: [failed, rolled_back, cancelled, paused]
  reason:
    description: Why (C(finish)), for example the health gate's message.
    type: str
  history_limit:
    description: With C(action=begin), history entries kept (the newest, and always the live release's).
    type: int
    default: 100
  rolled_back_from:
    description: With C(action=live), the release number being left by a rollback; it is marked C(rolled_back).
    type: int
attributes:
  check_mode:
    support: full
    description: Computes the new state and returns it without writing.
  diff_mode:
    support: full
    description: Shows the live container before and after.
  idempotent:
    support: partial
    description: Whether running it twice with the same input changes nothing.
    details: C(read) and a repeated C(live) or C(finish) change nothing; each C(begin) records a new release.
'''

EXAMPLES = r'''
- name: Record green as live before reaping the old container
  cutover.deploy.release:
    service: web
    action: live
    number: "{{ rec.number }}"
    container: "{{ green.container.name }}"
    upstream: "{{ green.upstream }}"
'''

RETURN = r'''
state:
  description: The service's state (C(live) and C(history)).
  returned: always
  type: dict
number:
  description: The release number begun or touched.
  returned: when action is begin, live or finish
  type: int
live:
  description: The live container record, or null.
  returned: always
  type: dict
previous_good:
  description: The newest succeeded release that is not live (the default rollback target), or null.
  returned: always
  type: dict
table:
  description: The live release and the newest 20 releases as aligned text lines (C(*) marks the live one).
  returned: always
  type: list
  elements: str
summary:
  description:
    - This host's row of a fleet status (the C(cutover.deploy.fleet_table) filter reads it).
    - C(live_number), C(release_id), C(image), C(since) and C(live_rollout) describe the live release;
      C(last_number), C(last_outcome), C(last_reason) and C(last_rollout) the newest release begun.
  returned: always
  type: dict
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._module import lease_option, renew_lease, require_valid_service
from ansible_collections.cutover.deploy.plugins.module_utils._state import (
    release_entry_options,
    DEFAULT_STATE_DIR,
    begin_release, finish_release, history_table, load_state, previous_good, record_live, release_summary, write_state_atomic,
)

REQUIRED = {'begin': ('image',), 'live': ('number', 'container', 'upstream'), 'finish': ('number', 'outcome')}


def iso(ts):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(ts))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            lease=lease_option(),
            service=dict(type='str', required=True),
            state_dir=dict(type='path', default=DEFAULT_STATE_DIR),
            action=dict(type='str', default='read', choices=['read', 'begin', 'live', 'finish']),
            number=dict(type='int'),
            image=dict(type='str'),
            image_id=dict(type='str'),
            release_id=dict(type='str'),
            container=dict(type='str'),
            upstream=dict(type='str'),
            container_port=dict(type='int'),
            outcome=dict(type='str', choices=['failed', 'rolled_back', 'cancelled', 'paused']),
            reason=dict(type='str'),
            rolled_back_from=dict(type='int'),
            history_limit=dict(type='int', default=100),
            **release_entry_options()
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_valid_service(module)
    renew_lease(module)
    missing = [f for f in REQUIRED.get(p['action'], ()) if p[f] in (None, '')]
    if missing:
        module.fail_json(msg='action=%s needs %s' % (p['action'], ', '.join(missing)))
    before = load_state(module)
    number = p['number']
    known = {h['number'] for h in before.get('history') or []}
    if module.check_mode and p['action'] in ('live', 'finish') and number not in known:
        # the release was begun by this same check-mode run, so it was never written: report the plan
        module.exit_json(changed=True, state=before, number=number, live=before.get('live'),
                         previous_good=previous_good(before), table=history_table(before),
                         summary=release_summary(before),
                         msg='check mode: release %s would be marked %s' % (number, 'live' if p['action'] == 'live' else p['outcome']))

    now = iso(time.time())
    try:
        if p['action'] == 'begin':
            entry = {k: p[k] for k in ('image', 'image_id', 'release_id', 'container', 'upstream', 'container_port', 'strategy', 'kind',
                                       'initiator', 'notes', 'commit_sha', 'rollout')}
            entry['started'] = now
            if p['check']:
                entry['check'] = p['check']
            after, number = begin_release(before, entry, p['history_limit'])
        elif p['action'] == 'live':
            after = record_live(before, number, p['container'], p['upstream'], now, p['rolled_back_from'])
        elif p['action'] == 'finish':
            current = next((h for h in before.get('history') or [] if h['number'] == number), None)
            if current is None:
                module.fail_json(msg='release %s of %s is not in the history (number)' % (number, p['service']))
            after = before if current.get('outcome') == p['outcome'] else \
                finish_release(before, number, p['outcome'], now, p['reason'])
        else:
            after = before
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    changed = after != before
    if changed and not module.check_mode:
        try:
            write_state_atomic(p['state_dir'], p['service'], after)
        except OSError as exc:
            module.fail_json(msg='cannot write the state of %s in %s: %s' % (p['service'], p['state_dir'], exc))
    module.exit_json(changed=changed, state=after, number=number, live=after.get('live'),
                     previous_good=previous_good(after), table=history_table(after), summary=release_summary(after),
                     diff=dict(before='live: %s\n' % (before.get('live') or {}).get('container'),
                               after='live: %s\n' % (after.get('live') or {}).get('container')))


if __name__ == '__main__':
    main()
