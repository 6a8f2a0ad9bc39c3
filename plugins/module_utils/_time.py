# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one timestamp format of state files, lock records and messages: UTC, whole seconds, ISO 8601."""

from __future__ import annotations

import time

ISO_FORMAT = '%Y-%m-%dT%H:%M:%SZ'


def iso(ts):
    """'YYYY-MM-DDTHH:MM:SSZ' of epoch seconds ts, or 'an unknown time' for none."""
    return time.strftime(ISO_FORMAT, time.gmtime(ts)) if ts else 'an unknown time'


def iso_now():
    return time.strftime(ISO_FORMAT, time.gmtime())
