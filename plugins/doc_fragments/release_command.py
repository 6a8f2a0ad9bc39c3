# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The release command of the steps that begin a release (green_container, release action=begin).
    DOCUMENTATION = r'''
options:
  release_command:
    version_added: 1.0.0
    description:
      - A command to run to completion in a one-off container from the new image before the release's own
        container starts, such as a database migration.
      - The container gets the service's environment (secret values masked in the returned log lines),
        volumes and networks, and is always removed. One an interrupted run left is removed by the next.
      - A non-zero exit, or O(release_command.timeout) reached (the container is killed), fails the module
        before anything else changes, and the history records the release C(failed) with the exit code and
        the command's last log lines.
      - Not run when the release's container already runs (the live release, a standby), nor for a
        rollback (O(restore)), nor in check mode.
    type: dict
    suboptions:
      command:
        description: A command line run by C(sh -c) (a string), or the command as a list of strings (exec form).
        type: raw
        required: true
      timeout:
        description: Seconds the command may run.
        type: float
        default: 600
'''
