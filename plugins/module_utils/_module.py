# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two checks every service-facing module starts with, turned into clear fail_json messages."""

from __future__ import annotations

from ansible_collections.cutover.deploy.plugins.module_utils._naming import service_error
from ansible_collections.cutover.deploy.plugins.module_utils._state import new_state, read_state


def require_valid_service(module):
    """Fail the module unless its `service` option is a valid service name."""
    err = service_error(module.params['service'])
    if err:
        module.fail_json(msg='service: ' + err)


def load_state(module):
    """The service's state from `state_dir` (a new empty one if there is none), or fail clearly."""
    p = module.params
    try:
        return read_state(p['state_dir'], p['service']) or new_state(p['service'])
    except (OSError, ValueError) as exc:
        module.fail_json(msg='cannot read the state of %s in state_dir %s: %s' % (p['service'], p['state_dir'], exc))
