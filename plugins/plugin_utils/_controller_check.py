# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape every Cutover check that runs on the controller shares: validate the task's arguments
against the module's own argument spec, run a pure function on them, return its result. No
connection to the host is made, so bad input never reaches it."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ControllerCheck(ActionBase):
    """Subclasses set ARGUMENT_SPEC and implement check(args) -> dict of results (failed/msg on error)."""

    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC = {}

    def check(self, args):
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        try:
            dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            return dict(result, failed=True, msg=str(exc))
        result['changed'] = False
        result.update(self.check(args))
        return result
