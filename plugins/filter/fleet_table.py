# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet_table filter (logic in module_utils/_rollout.py)."""

from __future__ import annotations

DOCUMENTATION = r'''
name: fleet_table
short_description: One status table for a service across an inventory, with its drift
version_added: 1.0.0
description:
  - One line per host (engine, live release, image, since, the newest release's outcome and rollout id),
    a C(DRIFT) line when the hosts that answered do not all run the same release, and which hosts the
    newest rollout reached.
  - Each host's row is its C(_cutover_fleet_row) fact (C(host), C(engine) and the C(summary) the release
    module returns), set by the status playbook; a host without one did not answer.
author: Cutover contributors (@cutover)
positional: hostvars
options:
  _input:
    description: The hosts, in order.
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) of the play.
    type: dict
    required: true
'''

EXAMPLES = r'''
msg: "{{ (ansible_play_hosts_all | cutover.deploy.fleet_table(hostvars)).lines }}"
'''

RETURN = r'''
_value:
  description: C(lines), C(drift) (bool), C(releases) (each live release with its hosts) and C(rollout)
    (the newest rollout with the hosts it C(reached) and C(not_reached), or null).
  type: dict
'''

from ansible_collections.cutover.deploy.plugins.module_utils._rollout import fleet_table


def _fleet_table(hosts, hostvars):
    rows = []
    for host in hosts:
        row = hostvars[host].get('_cutover_fleet_row') if host in hostvars else None
        rows.append(row or dict(host=host, engine=None, summary=None))
    return fleet_table(rows)


class FilterModule:
    def filters(self):
        return dict(fleet_table=_fleet_table)
