# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The deploy lock's lease, renewed by every step that runs under the lock.
    DOCUMENTATION = r'''
options:
  lease:
    description:
      - The deploy lock this step runs under (see M(cutover.deploy.deploy_lock)). When set, the step renews
        the lock's lease before it changes anything (and while it waits), and fails without changing
        anything if this run no longer holds the lock.
      - The roles set it for every step through C(module_defaults) for the action group
        C(group/cutover.deploy.lease); leave it unset when calling a module on its own.
    type: dict
    suboptions:
      state_dir:
        description: Folder of the lock files.
        type: path
        required: true
      service:
        description: Service whose lock it is.
        type: str
        required: true
      run_id:
        description: The run that holds the lock.
        type: str
        required: true
      seconds:
        description: Length of the renewed lease.
        type: int
        required: true
'''
