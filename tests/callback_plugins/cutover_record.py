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
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'cutover_record'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._started = {}

    @staticmethod
    def _write(line):
        path = os.environ.get('CUTOVER_RECORD')
        if path:
            with open(path, 'a') as f:
                f.write(json.dumps(line, default=str) + '\n')
                f.flush()

    def _record(self, result, status):
        name = result._task.get_name()
        now = time.time()
        self._write(dict(host=result._host.get_name(), task=name, action=result._task.action, status=status, time=now,
                         duration=round(now - self._started.get(result._task._uuid, now), 4),
                         result=self._clean_copy(result)))

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.time()
        self._write(dict(task=task.get_name(), status='start', time=self._started[task._uuid]))

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
