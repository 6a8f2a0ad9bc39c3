# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proxies supervised by systemd: the unit Cutover writes (pure) and the few systemctl calls it needs.

On a host whose PID 1 is systemd (every ordinary server) the proxy is a unit of Cutover's own,
enabled and `Restart=always`, ordered after the engines: a crash, a kill or a reboot brings it back
with no play. Cutover writes its own unit rather than pointing the distribution's haproxy.service at
its configuration: the distribution's unit reads /etc/haproxy, may be enabled for another purpose on
the same host, and differs between distributions; ours is the same everywhere and says what it runs.
"""

from __future__ import annotations

import hashlib
import os
import subprocess

from ansible_collections.cutover.deploy.plugins.module_utils._process import run_bounded
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import ProxyError

UNIT_DIR = '/etc/systemd/system'
RUNTIMES = ('auto', 'systemd', 'container', 'host')
# what an unsupervised HAProxy hands over on the upgrade to the unit: its listening sockets (-x), read at
# that one start from a file in /run (gone at the next boot, so later starts never look for an old process)
HANDOVER_VARIABLE = 'CUTOVER_HANDOVER'


def systemd_is_init(run_dir='/run/systemd/system'):
    """Whether this host booted with systemd as PID 1 (sd_booted's test)."""
    return os.path.isdir(run_dir)


def unit_name(kind, config_path, default_path):
    """cutover-<kind> for the default configuration, else one name per configuration path. Pure."""
    if config_path == default_path:
        return 'cutover-%s' % kind
    return 'cutover-%s-%s' % (kind, hashlib.sha256(config_path.encode('utf-8')).hexdigest()[:10])


def render_proxy_unit(description, service_lines):
    """A proxy unit: ordered after the engines, restarted however often it fails (no start limit: a proxy that
    gives up leaves every service behind it down), enabled for multi-user.target. Pure."""
    return ('# Managed by cutover.deploy. Changes here are overwritten.\n'
            '[Unit]\n'
            'Description=%s\n'
            'After=network-online.target docker.service podman.service\n'
            'Wants=network-online.target\n'
            'StartLimitIntervalSec=0\n'
            '\n'
            '[Service]\n'
            '%s'
            'KillMode=mixed\n'
            'Restart=always\n'
            'RestartSec=1\n'
            '\n'
            '[Install]\n'
            'WantedBy=multi-user.target\n' % (description, ''.join(line + '\n' for line in service_lines)))


def render_haproxy_unit(binary, config_dir, pid_file, handover_file, run_dir):
    """HAProxy in master-worker mode (-Ws: it tells systemd when it is ready); a reload is a USR2 to the
    master, which starts new workers on the same listening sockets and loads the server-state file. Its run
    folder (admin socket, pid file) is made at each start: /run is empty after a boot. Pure."""
    return render_proxy_unit('HAProxy for Cutover (%s)' % config_dir, [
        'Type=notify',
        'EnvironmentFile=-%s' % handover_file,
        'ExecStartPre=/bin/mkdir -p %s' % run_dir,
        'ExecStartPre=%s -c -q -f %s' % (binary, config_dir),
        'ExecStart=%s -Ws -f %s -p %s $%s' % (binary, config_dir, pid_file, HANDOVER_VARIABLE),
        'ExecReload=%s -c -q -f %s' % (binary, config_dir),
        'ExecReload=/bin/kill -USR2 $MAINPID'])


def render_nginx_unit(binary, conf, pid_file):
    """nginx with Cutover's own main config; a reload is nginx's graceful one, after a config test. Pure."""
    return render_proxy_unit('nginx for Cutover (%s)' % conf, [
        'Type=forking',
        'PIDFile=%s' % pid_file,
        'ExecStartPre=/bin/mkdir -p %s' % os.path.dirname(pid_file),
        'ExecStartPre=%s -t -q -c %s' % (binary, conf),
        'ExecStart=%s -c %s' % (binary, conf),
        'ExecReload=%s -t -q -c %s' % (binary, conf),
        'ExecReload=%s -c %s -s reload' % (binary, conf),
        'ExecStop=-%s -c %s -s quit' % (binary, conf)])


def render_caddy_unit(binary, caddy_dir, base_config, socket_dir=None):
    """Caddy resuming its autosaved config (the routes Cutover set through its admin API). Pure."""
    lines = ['Type=notify', 'Environment=XDG_CONFIG_HOME=%s/config XDG_DATA_HOME=%s/data' % (caddy_dir, caddy_dir)]
    lines += ['ExecStartPre=/bin/mkdir -p -m 700 %s' % socket_dir] if socket_dir else []
    lines += ['ExecStart=%s run --resume --config %s' % (binary, base_config)]
    return render_proxy_unit('Caddy for Cutover (%s)' % caddy_dir, lines)


def unit_path(name):
    return os.path.join(UNIT_DIR, '%s.service' % name)


class SystemdUnit:
    """systemctl for one unit."""

    def __init__(self, name):
        self.name = name
        self.service = '%s.service' % name

    def _systemctl(self, *args, check=True):
        try:
            done = run_bounded(('systemctl',) + args, 60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ProxyError('systemctl %s: %s' % (' '.join(args), exc))
        if check and done.returncode != 0:
            raise ProxyError('systemctl %s failed: %s' % (' '.join(args), (done.stderr or done.stdout).strip()[-800:]))
        return done

    def show(self):
        """{LoadState, ActiveState, UnitFileState, NeedDaemonReload, MainPID, NRestarts} of the unit."""
        done = self._systemctl('show', self.service, '-p', 'LoadState', '-p', 'ActiveState', '-p', 'UnitFileState', '-p',
                               'NeedDaemonReload', '-p', 'MainPID', '-p', 'NRestarts', check=False)
        return dict(line.split('=', 1) for line in done.stdout.splitlines() if '=' in line)

    def active(self):
        return self.show().get('ActiveState') == 'active'

    def enabled(self):
        return self.show().get('UnitFileState') == 'enabled'

    def daemon_reload(self):
        self._systemctl('daemon-reload')

    def daemon_reload_if_needed(self):
        """Load a changed unit file; also one written again after it was removed (`not-found`, which systemd
        does not flag as needing a reload)."""
        shown = self.show()
        if shown.get('NeedDaemonReload') == 'yes' or shown.get('LoadState') != 'loaded':
            self.daemon_reload()

    def enable(self):
        self._systemctl('enable', '--quiet', self.service)

    def timer_enabled(self):
        """Whether the unit's timer (<name>.timer) is enabled."""
        return self._systemctl('is-enabled', '--quiet', '%s.timer' % self.name, check=False).returncode == 0

    def enable_timer(self):
        self._systemctl('enable', '--now', '--quiet', '%s.timer' % self.name)

    def start(self):
        self._systemctl('start', self.service)

    def reload(self):
        self._systemctl('reload', self.service)

    def stop_and_disable(self):
        self._systemctl('disable', '--now', '--quiet', self.service, check=False)

    def failure_log(self, lines=20):
        done = run_bounded(['journalctl', '-u', self.service, '-n', str(lines), '--no-pager', '-o', 'cat'], 30)
        return done.stdout.strip()[-1500:]
