# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""validate_strategy on the controller: the decision is a pure function, so no module needs to run
on the host (a deploy saves a module round trip)."""

from __future__ import annotations

from ansible_collections.cutover.deploy.plugins.module_utils._strategy import ARGUMENT_SPEC, StrategyError, resolve_strategy
from ansible_collections.cutover.deploy.plugins.plugin_utils._controller_check import ControllerCheck


class ActionModule(ControllerCheck):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def check(self, args):
        result = dict(requested_strategy=args['strategy'])
        try:
            result['effective_strategy'] = resolve_strategy(args['strategy'], args['source'], args['exclusive_volumes'],
                                                            args['proxy_type'], args['replicas'])
        except StrategyError as exc:
            result.update(failed=True, msg=str(exc))
        return result
