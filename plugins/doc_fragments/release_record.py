# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The record option of the steps that begin a release in the history (green_container, compose_project, reap).
    DOCUMENTATION = r'''
options:
  record:
    description:
      - Begin the release in the service's history (outcome C(running)) in this same step, as
        M(cutover.deploy.release) C(action=begin) does.
      - M(cutover.deploy.green_container) and M(cutover.deploy.compose_project) begin it once the release's new
        container runs, and record nothing when the live container already runs the release.
      - M(cutover.deploy.reap) (version 1.1.0) begins it when O(cutover.deploy.reap#module:live) has no number, and
        records it live in the same write, for a rollback to the running standby, which has no green step. The image
        id, release id and container port come from the newest history entry of that container. A crash before
        that step leaves no entry of the rollback's own; the next run adopts the routed standby as live under its
        earlier entry (M(cutover.deploy.reconcile)).
    type: dict
    suboptions:
      image:
        description:
          - The image reference to record. Defaults to the image the module starts (for a compose project,
            C(compose:<project>); for M(cutover.deploy.reap), the one the container's entry records). A rollback
            records the reference, not the id.
        type: str
      strategy:
        description: The strategy to record (for M(cutover.deploy.reap), defaults to the one the container's entry records).
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
      check:
        description:
          - The HAProxy check (C(type), C(path), C(status)) the release serves under once it is live, recorded so a
            rollback to it can keep that check instead of holding the route at a TCP connect.
        type: dict
        version_added: 1.1.0
'''
