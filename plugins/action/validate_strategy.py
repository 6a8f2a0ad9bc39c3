# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""validate_strategy on the controller: the decision is a pure function, so no module needs to run
on the host (a deploy saves a module round trip)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.cutover.deploy.plugins.module_utils._strategy import ARGUMENT_SPEC, StrategyError, resolve_strategy


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        try:
            dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            return dict(result, failed=True, msg=str(exc))
        result.update(changed=False, requested_strategy=args['strategy'])
        try:
            result['effective_strategy'] = resolve_strategy(args['strategy'], args['source'], args['exclusive_volumes'])
        except StrategyError as exc:
            result.update(failed=True, msg=str(exc))
        return result
