# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout and fleet-status filters the deploy and status playbooks use (logic in _rollout.py)."""

from __future__ import annotations

from ansible_collections.cutover.deploy.plugins.module_utils._rollout import fleet_table, rollout_report, rollout_status


def _rollout_status(hosts, hostvars, max_fail_percentage=0, final=False):
    outcomes = {h: hostvars[h].get('_cutover_outcome') for h in hosts if h in hostvars}
    return rollout_status(list(hosts), {h: o for h, o in outcomes.items() if o}, max_fail_percentage, final)


def _fleet_table(hosts, hostvars):
    rows = []
    for host in hosts:
        row = hostvars[host].get('_cutover_fleet_row') if host in hostvars else None
        rows.append(row or dict(host=host, engine=None, summary=None))
    return fleet_table(rows)


class FilterModule:
    def filters(self):
        return dict(rollout_status=_rollout_status, rollout_report=rollout_report, fleet_table=_fleet_table)
