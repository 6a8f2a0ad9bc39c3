# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Podman containers back at boot: one unit of Cutover's own per state folder.

Podman has no daemon that restarts containers when the host boots. Its own podman-restart.service (Podman
4.3) starts only containers with restart policy `always`, and would start every stopped release kept for a
rollback with them. Docker's `unless-stopped` means "what ran before the boot runs again"; for Cutover what
must run is what the state says is live. So on a Podman host with systemd as PID 1, Cutover writes a small
script and a oneshot unit that, at boot, reads each service's state file and starts its live container, and at
shutdown stops Cutover's running containers (as systemd stops them, Podman's restart policy would start them
again and again, holding the shutdown up until systemd gives up and kills everything, an unclean end after which
the first start of a container can fail: the script cleans it up and tries again).
A standby is not started at boot: a rollback to it starts it (one step more, no boot of a new container).
Quadlets (Podman 4.4 and later) describe a container to create at boot, which does not fit containers that
Cutover creates and names per release.
"""

from __future__ import annotations

import os
import sys

from ansible_collections.cutover.deploy.plugins.module_utils._files import read_text, write_atomic
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.systemd import (
    SystemdUnit, systemd_is_init, unit_name, unit_path)
from ansible_collections.cutover.deploy.plugins.module_utils._state import DEFAULT_STATE_DIR

SCRIPT_DIR = '/usr/local/lib/cutover'

# Run by the unit at boot with the state folder as its argument. Standalone (the collection is not on the
# host), so it reads only what it needs: each state file's live container. A container Podman does not
# have (a Docker service's, sharing the state folder) is left alone.
START_SCRIPT = '''\
# Managed by cutover.deploy. Changes here are overwritten.
"""At boot (start): start each Cutover service's live Podman container. At shutdown (stop): stop every running
Cutover container gracefully, which also keeps Podman's restart policy from starting it again while systemd stops
the host."""
import glob
import json
import os
import subprocess
import sys
import time


def podman(*args):
    return subprocess.run(('podman',) + args, capture_output=True, text=True)


def live_containers(state_dir):
    for path in sorted(glob.glob(os.path.join(state_dir, '*.json'))):
        try:
            with open(path) as f:
                live = (json.load(f).get('live') or {}).get('container')
        except (OSError, ValueError, AttributeError):
            print('%s: not a state file Cutover can read, left alone' % path)
            continue
        for name in (live.split(',') if isinstance(live, str) else []):  # one container, or a release's replicas
            if podman('container', 'exists', name).returncode == 0:
                yield name


def running(name):
    return podman('inspect', '-f', '{{.State.Running}}', name).stdout.strip() == 'true'


def start_one(name, seconds):
    """None once the container runs, else the last error after `seconds`. After an unclean shutdown Podman may
    still record the last boot's network namespace or files, and a failed start sets its restart policy off too:
    clean the container up and try again until it runs, whoever started it."""
    end, error = time.monotonic() + seconds, None
    podman('container', 'cleanup', name)  # what an unclean shutdown left (network namespace, mounts) goes first
    while not running(name):
        done = podman('start', name)
        if done.returncode == 0:
            return None
        error = done.stderr.strip()[-400:]
        if time.monotonic() > end:
            return error
        podman('container', 'cleanup', name)
        time.sleep(1)
    return None


def start(state_dir, seconds):
    failed = 0
    for name in live_containers(state_dir):
        error = start_one(name, seconds)
        print('%s: %s' % (name, 'running' if error is None else 'failed: ' + error))
        failed += error is not None
    return 1 if failed else 0


def stop(seconds=60):
    # systemd stops the containers' scopes at the same time, and Podman's restart policy starts a container
    # killed that way again: stop until nothing of Cutover's has run for a second (a stop by the user ends that)
    quiet, end = 0, time.monotonic() + seconds
    while quiet < 4 and time.monotonic() < end:
        running = podman('ps', '-q', '--filter', 'label=io.cutover.managed=true').stdout.split()
        if running:
            podman('stop', *running)
            quiet = 0
        else:
            quiet += 1
            time.sleep(0.25)
    return 0


sys.exit(start(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 60) if sys.argv[1] == 'start' else stop())
'''


def boot_unit_name(state_dir):
    """cutover-podman-start for the default state folder, else one name per folder (as the proxies' units). Pure."""
    return unit_name('podman-start', os.path.normpath(state_dir), DEFAULT_STATE_DIR)


def render_boot_unit(python, script, state_dir):
    """A oneshot at boot, after the network and Podman's own units, before the proxies' first checks matter
    (they mark a container down until it answers, and up again once it does). Pure."""
    return ('# Managed by cutover.deploy. Changes here are overwritten.\n'
            '[Unit]\n'
            'Description=Start the live Podman containers of Cutover services (%s)\n'
            'After=network-online.target podman.socket podman-restart.service\n'
            'Wants=network-online.target\n'
            '\n'
            '[Service]\n'
            'Type=oneshot\n'
            'RemainAfterExit=yes\n'
            'ExecStart=%s %s start %s\n'
            'ExecStop=%s %s stop\n'
            'TimeoutStopSec=90\n'
            '\n'
            '[Install]\n'
            'WantedBy=multi-user.target\n' % (state_dir, python, script, state_dir, python, script))


def render_scope_order(service):
    """A drop-in for every Podman container's scope (systemd reads `libpod-.scope.d` for each `libpod-*.scope`,
    transient ones too): at shutdown the unit's stop runs first and the scopes are stopped after it. Left
    unordered, systemd killed a container while the stop ran, and its restart policy started it again and again
    until the power went, a state Podman then could not start after the boot. Pure."""
    return ('# Managed by cutover.deploy. Changes here are overwritten.\n'
            '# At shutdown, %s stops Cutover\'s containers before systemd stops any container.\n'
            '[Unit]\n'
            'Before=%s\n' % (service, service))


def boot_files(state_dir, python):
    """{path: text} of what the unit needs, and the unit's name. Pure."""
    name = boot_unit_name(state_dir)
    script = os.path.join(SCRIPT_DIR, '%s.py' % name)
    scope_order = os.path.join(os.path.dirname(unit_path(name)), 'libpod-.scope.d', '%s.conf' % name)
    return name, {script: START_SCRIPT, unit_path(name): render_boot_unit(python, script, os.path.normpath(state_dir)),
                  scope_order: render_scope_order('%s.service' % name)}


def boot_support(engine_url, is_podman, euid, systemd_booted):
    """None when Cutover keeps this engine's live containers running at boot with a unit, else why not. Pure."""
    if not is_podman:
        return 'the engine restarts its containers itself (restart policy unless-stopped)'
    if not systemd_booted:
        return 'systemd is not PID 1 on this host: nothing starts Podman containers at boot'
    if not (engine_url or '').startswith('unix://') or euid != 0:
        return 'only for root Podman on this host (engine_host a local unix socket, run as root)'
    return None


def ensure_boot_unit(engine, state_dir, check_mode):
    """Make sure Podman's live containers come back at boot; returns (actions, report). A unit someone disabled
    is enabled again, a changed or removed file written again, and an inactive unit started (it starts only what
    is live, which runs already; active, its stop runs at shutdown). Raises ProxyError (from systemctl)."""
    why_not = boot_support(engine.url, engine.is_podman, os.geteuid(), systemd_is_init())
    if why_not:
        return [], dict(unit=None, reason=why_not)
    name, files = boot_files(state_dir, sys.executable)
    unit = SystemdUnit(name)
    stale = {path: text for path, text in files.items() if read_text(path) != text}
    shown = unit.show()
    enabled, active = shown.get('UnitFileState') == 'enabled', shown.get('ActiveState') == 'active'
    actions = ['write %s' % path for path in sorted(stale)]
    actions += [] if enabled else ['enable %s' % unit.service]
    actions += [] if active else ['start %s' % unit.service]
    if actions and not check_mode:
        for path, text in stale.items():
            write_atomic(path, text)
        if stale:  # the scopes' drop-in too, which does not mark the unit as needing a reload
            unit.daemon_reload()
        if not enabled:
            unit.enable()
        if not active:  # an active unit keeps running; a daemon-reload gives it a changed file's stop command
            unit.start()
        enabled = active = True
    return actions, dict(unit=unit.service, enabled=enabled, active=active)
