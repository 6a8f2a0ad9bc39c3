#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: metrics
short_description: Write a host's deploy metrics for Prometheus (node_exporter's textfile collector)
version_added: 1.0.0
description:
  - Renders the deploy metrics of every service with a state file in O(state_dir) in the Prometheus
    text format and writes them to O(path) atomically (temporary file, then rename), so
    node_exporter's textfile collector never reads half a file.
  - C(cutover_releases_total) (counter; service, kind, outcome), C(cutover_live_release),
    C(cutover_last_release_duration_seconds) (service, kind, outcome), C(cutover_last_release_step_seconds)
    (service, step) and C(cutover_last_success_timestamp_seconds).
  - The deploy, rollback and status runs call it at their end, whatever the outcome.
author: Cutover contributors (@cutover)
options:
  path:
    description: The metrics file, for example C(/var/lib/node_exporter/textfile_collector/cutover.prom).
    type: path
    required: true
  state_dir:
    description: Folder of the services' state files.
    type: path
    default: /var/lib/cutover
  service:
    description: The service whose run just ended (with O(steps)).
    type: str
  steps:
    description:
      - Seconds each step of the run took, such as C({start 2.1, gate 1.5, swap 0.002, drain 0.3}), kept
        for O(service) until its next run. Steps given as null or empty did not run and are left out.
    type: dict
    default: {}
  errors:
    description:
      - What a metrics file that cannot be written does to the task. V(fail) fails it; V(warn) turns it
        into a warning and reports RV(written=false), so the end of a deploy never fails a host that
        deployed (the roles use V(warn)).
      - Either way a service whose state or steps file does not parse is left out of the file with a
        warning, and the other services are written.
    type: str
    choices: [fail, warn]
    default: fail
    version_added: 0.3.0
attributes:
  check_mode:
    support: full
    description: Reports whether the file would change; writes nothing.
  diff_mode:
    support: full
    description: The file's text before and after.
  idempotent:
    support: full
    description: An unchanged state renders the same text and is not written again.
'''

EXAMPLES = r'''
- name: Publish the deploy metrics for node_exporter
  cutover.deploy.metrics:
    path: /var/lib/node_exporter/textfile_collector/cutover.prom
    service: web
    steps: {gate: 1.4, swap: 0.002}
'''

RETURN = r'''
path:
  description: The metrics file.
  returned: success
  type: str
services:
  description: The services in it.
  returned: success
  type: list
  elements: str
skipped:
  description: The services left out because their state or steps file does not parse, with the reason.
  returned: success
  type: dict
  version_added: 0.3.0
written:
  description: Whether the file now holds these metrics (false only with O(errors=warn) after a failure).
  returned: success
  type: bool
  version_added: 0.3.0
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._metrics import publish_or_report
from ansible_collections.cutover.deploy.plugins.module_utils._naming import service_error
from ansible_collections.cutover.deploy.plugins.module_utils._state import DEFAULT_STATE_DIR


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state_dir=dict(type='path', default=DEFAULT_STATE_DIR),
            service=dict(type='str'),
            steps=dict(type='dict', default={}),
            errors=dict(type='str', default='fail', choices=['fail', 'warn']),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p['service'] and service_error(p['service']):
        module.fail_json(msg='service: %s' % service_error(p['service']))
    published = publish_or_report(module, p['path'], p['state_dir'], p['service'], p['steps'], p['errors'])
    if published is None:
        module.exit_json(changed=False, path=p['path'], services=[], skipped={}, written=False)
    changed, before, after, services, skipped = published
    result = dict(changed=changed, path=p['path'], services=services, skipped=skipped, written=True)
    if module._diff:
        result['diff'] = dict(before=before or '', after=after, before_header=p['path'], after_header=p['path'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
