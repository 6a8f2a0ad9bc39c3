# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: appends every task result as one JSON line to $CUTOVER_RECORD."""

from __future__ import annotations

DOCUMENTATION = r'''
name: cutover_record
type: aggregate
short_description: Record task results as JSON lines for Cutover's tests
description: Appends each task result (host, task name, status, result) to the file in E(CUTOVER_RECORD).
requirements: [enable in configuration]
'''

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'cutover_record'
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        path = os.environ.get('CUTOVER_RECORD')
        if not path:
            return
        line = dict(host=result._host.get_name(), task=result._task.get_name(), status=status,
                    result=self._clean_copy(result))
        with open(path, 'a') as f:
            f.write(json.dumps(line, default=str) + '\n')

    @staticmethod
    def _clean_copy(result):
        data = result._result
        try:
            return json.loads(json.dumps(data, default=str))
        except (TypeError, ValueError):
            return {'unserializable': str(data)}

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')
