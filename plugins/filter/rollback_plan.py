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
    whether it still runs as the standby (then the rollback is one swap, with no green step), and the check
    HAProxy runs through the rollback.
  - HAProxy keeps the check it runs when it is a TCP connect, when the user set C(cutover_proxy.check), or when the
    release returned to was recorded serving under that same check; otherwise the check is held at a TCP connect
    before the swap, because that release may not answer the health path of the one it leaves.
author: Cutover contributors (@cutover)
positional: number, user_check
options:
  _input:
    description: The result of M(cutover.deploy.prepare) (C(live), C(history), C(standby), C(proxy_check)).
    type: dict
    required: true
  number:
    description: The release number to return to; empty for the previous good release.
    type: raw
  user_check:
    description: Whether the user set C(cutover_proxy.check), which a rollback never changes.
    type: bool
    default: false
'''

EXAMPLES = r'''
_cutover_rollback: "{{ cutover_before | cutover.deploy.rollback_plan(cutover_release, cutover_proxy.check is defined) }}"
'''

RETURN = r'''
_value:
  description: >-
    C(target) (the history entry to return to, or null), C(standby) (the running standby when it is the target,
    else null), C(check) (HAProxy's check through the rollback, null without one) and C(hold_check) (whether the
    check changes to C(check) before the swap).
  type: dict
'''

from ansible_collections.cutover.deploy.plugins.module_utils._state import rollback_plan


class FilterModule:
    def filters(self):
        return dict(rollback_plan=rollback_plan)
