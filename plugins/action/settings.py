# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""settings on the controller: every input checked once and the roles' values resolved (_settings.resolve),
returned as facts, except this run's own values (_settings.RUN_ONLY). No connection to the host is made, so bad input
never reaches it."""

from __future__ import annotations

import datetime
import getpass
import os

from ansible_collections.cutover.deploy.plugins.module_utils._settings import ARGUMENT_SPEC, resolve, split_run_only
from ansible_collections.cutover.deploy.plugins.plugin_utils._controller_check import ControllerCheck


def controller_user():
    try:
        return os.environ.get('USER') or getpass.getuser()
    except (KeyError, OSError):
        return None


class ActionModule(ControllerCheck):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def check(self, args):
        errors, facts = resolve(args, datetime.datetime.now(datetime.timezone.utc), controller_user())
        if errors:
            return dict(failed=True, msg='; '.join(errors))
        facts, run_only = split_run_only(facts)
        # run_only carries cutover_proxy.password (Nginx Proxy Manager): a success is never shown
        return dict(ansible_facts=facts, run_only=run_only, msg='inputs are valid', _ansible_no_log=True)
