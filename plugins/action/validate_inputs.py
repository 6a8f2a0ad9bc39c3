# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""validate_inputs on the controller: the checks are pure functions, so bad input is refused
before any connection to the host is made."""

from __future__ import annotations

from ansible_collections.cutover.deploy.plugins.module_utils._validate import ARGUMENT_SPEC, check_inputs
from ansible_collections.cutover.deploy.plugins.plugin_utils._controller_check import ControllerCheck


class ActionModule(ControllerCheck):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def check(self, args):
        ok, msg = check_inputs(args)
        return dict(msg=msg) if ok else dict(msg=msg, failed=True)
