# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACME renewals with no play running, for HAProxy and nginx (Caddy renews by itself).

Every deploy and status runs lego (site.ensure_acme), which also leaves a job file next to lego's data
(`<config>/acme/<service>/renew.json`: lego's renew command, where the certificate goes, how the proxy takes a new
one). On a host whose PID 1 is systemd, a timer of Cutover's own runs RENEW_SCRIPT over those job files every day,
as the deploy would: lego renews what is due, and a new certificate is loaded into the proxy (HAProxy's Runtime API,
no reload; nginx's graceful reload).
"""

from __future__ import annotations

import json
import os
import sys

from ansible_collections.cutover.deploy.plugins.module_utils._files import read_text, write_atomic
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.systemd import (
    SystemdUnit, systemd_is_init, unit_name, unit_path)

SCRIPT_DIR = '/usr/local/lib/cutover'
JOB_FILE = 'renew.json'

# Standalone (the collection is not on the host): it reads only the job files.
RENEW_SCRIPT = '''\
# Managed by cutover.deploy. Changes here are overwritten.
"""Renew the ACME certificates of one proxy's config folder when due (lego), and load a new one into the proxy."""
import glob
import json
import os
import socket
import subprocess
import sys
import tempfile


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def write_private(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def haproxy(admin_socket, command):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(admin_socket)
        sock.sendall(command.encode() + b'\\n')
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                return b''.join(chunks).decode('utf-8', 'replace')
            chunks.append(data)


def load(job, pem):
    if job['proxy'] == 'haproxy':
        answer = haproxy(job['admin_socket'], 'set ssl cert %s <<\\n%s\\n' % (job['pem'], pem.strip()))
        if 'transaction' not in answer.lower():
            raise RuntimeError('HAProxy did not take it: %s' % answer.strip())
        answer = haproxy(job['admin_socket'], 'commit ssl cert %s' % job['pem'])
        if 'success' not in answer.lower():
            haproxy(job['admin_socket'], 'abort ssl cert %s' % job['pem'])
            raise RuntimeError('HAProxy did not commit it: %s' % answer.strip())
    else:
        subprocess.run(job['reload'], check=True, capture_output=True, timeout=60)


def main(config_dir):
    failed = 0
    for path in sorted(glob.glob(os.path.join(config_dir, 'acme', '*', 'renew.json'))):
        job = json.loads(read(path) or '{}')
        done = subprocess.run(job['argv'], env=dict(os.environ, **job.get('env', {})), capture_output=True, text=True,
                              timeout=300)
        if done.returncode != 0:
            print('%s: lego failed: %s' % (job['service'], (done.stderr or done.stdout).strip()[-400:]))
            failed += 1
            continue
        pem = (read(job['crt']) or '').strip() + '\\n' + (read(job['key']) or '').strip() + '\\n'
        if pem == read(job['pem']):
            print('%s: not due' % job['service'])
            continue
        write_private(job['pem'], pem)
        try:
            load(job, pem)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            print('%s: renewed, but the proxy did not load it: %s' % (job['service'], exc))
            failed += 1
            continue
        print('%s: renewed and loaded' % job['service'])
    return 1 if failed else 0


sys.exit(main(sys.argv[1]))
'''


def renewal_job(service, kind, argv, env, crt, key, pem, admin_socket=None, reload=None):
    """What the timer needs to renew one service's certificate as a deploy would (the job file's content). Pure."""
    job = dict(service=service, proxy=kind, argv=list(argv), env=dict(env), crt=crt, key=key, pem=pem)
    if kind == 'haproxy':
        job['admin_socket'] = admin_socket
    else:
        job['reload'] = list(reload)
    return json.dumps(job, indent=1, sort_keys=True) + '\n'


def renewal_unit_name(config_dir):
    """One timer per proxy config folder (always hashed: HAProxy's and nginx's default folders differ). Pure."""
    return unit_name('acme-renew', os.path.normpath(config_dir), None)


def render_renewal_units(python, script, config_dir):
    """(the oneshot service, its daily timer). Persistent: a day missed while the host was off runs at boot. Pure."""
    service = ('# Managed by cutover.deploy. Changes here are overwritten.\n'
               '[Unit]\n'
               'Description=Renew the ACME certificates of Cutover services (%s)\n'
               'After=network-online.target\n'
               'Wants=network-online.target\n'
               '\n'
               '[Service]\n'
               'Type=oneshot\n'
               'ExecStart=%s %s %s\n' % (config_dir, python, script, config_dir))
    timer = ('# Managed by cutover.deploy. Changes here are overwritten.\n'
             '[Unit]\n'
             'Description=Renew the ACME certificates of Cutover services, daily (%s)\n'
             '\n'
             '[Timer]\n'
             'OnCalendar=daily\n'
             'RandomizedDelaySec=3600\n'
             'Persistent=true\n'
             '\n'
             '[Install]\n'
             'WantedBy=timers.target\n' % config_dir)
    return service, timer


def ensure_renewal_timer(config_dir, check_mode):
    """On a host whose PID 1 is systemd: the renewal script, service and timer written and the timer enabled and
    started. Returns the actions ([] elsewhere: there, renewals happen in deploys and status). Raises ProxyError."""
    if not systemd_is_init():
        return []
    name = renewal_unit_name(config_dir)
    script = os.path.join(SCRIPT_DIR, '%s.py' % name)
    service, timer = render_renewal_units(sys.executable, script, os.path.normpath(config_dir))
    files = {script: RENEW_SCRIPT, unit_path(name): service, unit_path(name)[:-len('.service')] + '.timer': timer}
    stale = {path: text for path, text in files.items() if read_text(path) != text}
    unit = SystemdUnit(name)
    enabled = unit.timer_enabled()
    actions = ['write %s' % path for path in sorted(stale)] + ([] if enabled else ['enable %s.timer' % name])
    if actions and not check_mode:
        for path, text in stale.items():
            write_atomic(path, text)
        if stale:
            unit.daemon_reload()
        unit.enable_timer()
    return actions
