# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health gate: probe evaluation (pure), the two network probes, and the gate loop.

The loop takes its probe, container-state reader, clock and sleep as arguments, so its decisions
(consecutive successes, fail fast on exit, overall timeout) are unit-tested without a daemon.
"""

from __future__ import annotations

import http.client
import os
import re
import select
import signal
import socket

PROBE_KINDS = ('auto', 'http', 'tcp', 'healthcheck', 'liveness')  # the health_gate module's probe choices


def plain_search(pattern, text):
    return re.search(pattern, text) is not None


def http_verdict(status, body, expected_status, body_regex=None, search=plain_search):
    """Return (ok, detail) for one HTTP answer. search(pattern, text) -> True, False or None (gave up)."""
    if status not in expected_status:
        return False, 'status %s, expected %s' % (status, ', '.join(str(s) for s in expected_status))
    if body_regex:
        found = search(body_regex, body or '')
        if found is None:
            return False, 'status %s but matching the body against %r did not finish in time' % (status, body_regex)
        if not found:
            return False, 'status %s but body does not match %r' % (status, body_regex)
    return True, 'status %s' % status


def bounded_search(pattern, text, timeout):
    """re.search in a forked child that is killed after timeout seconds: a pathological pattern
    (catastrophic backtracking) can never hold the gate past its timeout. True, False, or None
    when it was killed."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: answer one byte and leave without running any cleanup of the parent's
        try:
            os.close(read_fd)
            os.write(write_fd, b'1' if re.search(pattern, text) else b'0')
        finally:
            os._exit(0)
    os.close(write_fd)
    try:
        ready = select.select([read_fd], [], [], timeout)[0]
        answer = os.read(read_fd, 1) if ready else b''
        if not ready:
            os.kill(pid, signal.SIGKILL)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    return {b'1': True, b'0': False}.get(answer)


def container_verdict(state, restarts_at_start=0):
    """Return None while the container can still become ready, else why it never will.

    state is the engine's State object (Status, ExitCode, Restarting, Health) plus RestartCount.
    """
    status = (state.get('Status') or '').lower()
    if state.get('Restarting') or status == 'restarting':
        return 'container is restarting (exit code %s)' % state.get('ExitCode')
    if status in ('exited', 'dead', 'stopped', 'removing'):
        return 'container %s with exit code %s' % (status, state.get('ExitCode'))
    if state.get('RestartCount', 0) > restarts_at_start:
        return 'container restarted during the gate (restart count %s)' % state.get('RestartCount')
    return None


def healthcheck_verdict(state):
    """(ok, detail) from the engine's own HEALTHCHECK status."""
    health = (state.get('Health') or {}).get('Status') or ''
    if not health:
        return False, 'container has no HEALTHCHECK'
    return health == 'healthy', 'engine health status %s' % health


def resolve_kind(kind, has_http, has_tcp, has_healthcheck):
    """Which probe 'auto' means: HTTP if a path is set, else TCP, else the engine's HEALTHCHECK
    if the container has one, else the liveness window."""
    if kind != 'auto':
        return kind
    if has_http:
        return 'http'
    if has_tcp:
        return 'tcp'
    if has_healthcheck:
        return 'healthcheck'
    return 'liveness'


def probe_http(host, port, path, timeout):
    """One GET without redirects or retries; returns (status, body, error)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request('GET', path, headers={'User-Agent': 'cutover-health-gate', 'Connection': 'close'})
        resp = conn.getresponse()
        body = resp.read(65536).decode('utf-8', 'replace')
        return resp.status, body, None
    except (OSError, http.client.HTTPException) as exc:
        return None, None, '%s: %s' % (type(exc).__name__, exc)
    finally:
        conn.close()


def probe_tcp(host, port, timeout):
    """(ok, detail) for one TCP connect."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, 'tcp connect ok'
    except OSError as exc:
        return False, 'tcp connect failed: %s' % exc


def run_gate(probe, read_state, clock, sleep, timeout, interval, successes=1, liveness_window=None):
    """Run the gate until it passes, the container dies, or timeout seconds pass.

    probe() -> (ok, detail), or None for the liveness window (no probe at all).
    read_state() -> the container State dict (see container_verdict).
    Returns a dict: passed, reason, attempts, last_probe, state, elapsed.
    """
    if probe is None:
        timeout = max(timeout, liveness_window)  # the window itself is the gate's length
    start = clock()
    first = read_state()
    restarts_at_start = first.get('RestartCount', 0)
    streak = attempts = 0
    last_probe = None
    state = first
    while True:
        state = read_state()
        dead = container_verdict(state, restarts_at_start)
        elapsed = clock() - start
        if dead:
            return dict(passed=False, reason=dead, attempts=attempts, last_probe=last_probe,
                        state=state, elapsed=elapsed)
        if probe is None:
            if elapsed >= liveness_window:
                return dict(passed=True, reason='container stayed running for %ss' % liveness_window,
                            attempts=attempts, last_probe=None, state=state, elapsed=elapsed)
        else:
            attempts += 1
            ok, detail = probe()
            last_probe = detail
            streak = streak + 1 if ok else 0
            if streak >= successes:
                return dict(passed=True, reason='%d consecutive successful probes (%s)' % (streak, detail),
                            attempts=attempts, last_probe=last_probe, state=state, elapsed=clock() - start)
        if clock() - start >= timeout:
            return dict(passed=False, reason='not ready within %ss' % timeout, attempts=attempts,
                        last_probe=last_probe, state=state, elapsed=clock() - start)
        sleep(interval)
