# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout_status filter (logic in module_utils/_rollout.py)."""

from __future__ import annotations

DOCUMENTATION = r'''
name: rollout_status
short_description: Where a rollout across an inventory stands
version_added: 1.0.0
description:
  - Sorts a rollout's hosts by the outcome the deploy playbook recorded for each (the C(_cutover_outcome)
    fact) into C(moved), C(unchanged), C(failed) and C(skipped), and says whether the rollout is stopped.
  - The rollout is stopped once its failed hosts are more than O(max_fail_percentage) percent of all its hosts.
author: Cutover contributors (@cutover)
positional: hostvars, max_fail_percentage, final
options:
  _input:
    description: The rollout's hosts, in order.
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) of the play.
    type: dict
    required: true
  max_fail_percentage:
    description: Percentage of the hosts that may fail before the rollout stops.
    type: float
    default: 0
  final:
    description: At the end of the run, a host with no outcome counts as failed (lost mid-deploy).
    type: bool
    default: false
'''

EXAMPLES = r'''
stopped: "{{ (ansible_play_hosts_all | cutover.deploy.rollout_status(hostvars, 25)).stopped }}"
'''

RETURN = r'''
_value:
  description: C(moved), C(unchanged), C(failed), C(skipped) (host lists), C(reasons) (host to reason),
    C(failed_percent) and C(stopped).
  type: dict
'''

from ansible_collections.cutover.deploy.plugins.module_utils._rollout import rollout_status


def _rollout_status(hosts, hostvars, max_fail_percentage=0, final=False):
    outcomes = {h: hostvars[h].get('_cutover_outcome') for h in hosts if h in hostvars}
    return rollout_status(list(hosts), {h: o for h, o in outcomes.items() if o}, max_fail_percentage, final)


class FilterModule:
    def filters(self):
        return dict(rollout_status=_rollout_status)
