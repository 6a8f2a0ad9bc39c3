# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout_report filter (logic in module_utils/_rollout.py)."""

from __future__ import annotations

DOCUMENTATION = r'''
name: rollout_report
short_description: A rollout's summary as lines for the operator
version_added: 1.0.0
description:
  - Turns the result of C(cutover.deploy.rollout_status) into lines naming each failed host and its reason.
author: Cutover contributors (@cutover)
positional: rollout_id, failure_action
options:
  _input:
    description: The result of C(cutover.deploy.rollout_status).
    type: dict
    required: true
  rollout_id:
    description: The rollout's id.
    type: str
    required: true
  failure_action:
    description: C(stop) or C(rollback), to say what happens to the hosts already moved.
    type: str
    required: true
'''

EXAMPLES = r'''
msg: "{{ status | cutover.deploy.rollout_report(_cutover_rollout_id, cutover_failure_action) }}"
'''

RETURN = r'''
_value:
  description: The summary lines.
  type: list
  elements: str
'''

from ansible_collections.cutover.deploy.plugins.module_utils._rollout import rollout_report


class FilterModule:
    def filters(self):
        return dict(rollout_report=rollout_report)
