# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The record option of the steps that start a release's container (green_container, compose_project).
    DOCUMENTATION = r'''
options:
  record:
    description:
      - Begin the release in the service's history (outcome C(running)) once its new container runs, as
        M(cutover.deploy.release) C(action=begin) does, so the release is recorded in the same step. Nothing is
        recorded when the live container already runs the release (RV(already_live)).
    type: dict
    suboptions:
      image:
        description:
          - The image reference to record. Defaults to the image the module starts (for a compose project,
            C(compose:<project>)). A rollback records the reference, not the id.
        type: str
      strategy:
        description: The strategy to record.
        type: str
      kind:
        description: C(deploy) or C(rollback).
        type: str
        default: deploy
        choices: [deploy, rollback]
      initiator:
        description: Who started the run.
        type: str
      notes:
        description: Free text recorded with the release.
        type: str
      commit_sha:
        description: The source commit recorded with the release.
        type: str
      rollout:
        description: The rollout (one playbook run across an inventory) the release belongs to.
        type: str
      history_limit:
        description: History entries kept (the live release's entry always).
        type: int
        default: 100
'''
