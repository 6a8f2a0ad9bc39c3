# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollback_plan filter (logic in module_utils/_state.py)."""

from __future__ import annotations

DOCUMENTATION = r'''
name: rollback_plan
short_description: What a rollback does, from the answer of its first step
version_added: 1.1.0
description:
  - The release a rollback returns to (release O(number), or the newest release that succeeded and is not live),
    and whether it still runs as the standby (then the rollback is one swap, with no green step).
author: Cutover contributors (@cutover)
positional: number
options:
  _input:
    description: The result of M(cutover.deploy.prepare) (C(live), C(history), C(standby)).
    type: dict
    required: true
  number:
    description: The release number to return to; empty for the previous good release.
    type: raw
'''

EXAMPLES = r'''
_cutover_rollback: "{{ cutover_before | cutover.deploy.rollback_plan(cutover_release) }}"
'''

RETURN = r'''
_value:
  description: >-
    C(target) (the history entry to return to, or null) and C(standby) (the running standby when it is the
    target, else null).
  type: dict
'''

from ansible_collections.cutover.deploy.plugins.module_utils._state import rollback_plan


class FilterModule:
    def filters(self):
        return dict(rollback_plan=rollback_plan)
