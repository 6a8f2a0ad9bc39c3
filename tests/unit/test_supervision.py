"""How a proxy is supervised: which runtime `auto` means on a host, the unit Cutover writes, its name."""
import pytest

from ansible_collections.cutover.deploy.plugins.module_utils._proxy.site import proxy_opts_error, proxy_runtime
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.systemd import (
    render_haproxy_unit, resolve_runtime, unit_name,
)


@pytest.mark.parametrize('asked, booted, runs', [
    ('auto', True, 'systemd'), ('auto', False, 'host'),
    ('systemd', False, 'systemd'),  # asked for: refused later by systemctl, never silently unsupervised
    ('host', True, 'host'), ('container', True, 'container'),
])
def test_auto_is_a_unit_where_systemd_is_pid_1(asked, booted, runs):
    assert resolve_runtime(asked, booted) == runs
    assert proxy_runtime(dict(type='haproxy', runtime=asked), booted) == runs


@pytest.mark.parametrize('kind', ['nginx', 'caddy'])
def test_nginx_and_caddy_stay_host_processes_under_auto(kind):
    assert proxy_runtime(dict(type=kind, runtime='auto'), True) == 'host'
    err = proxy_opts_error(dict(type=kind, runtime='systemd', listen='127.0.0.1:8080'), 'web')
    assert 'proxy.runtime systemd' in err and 'auto, host' in err


def test_one_unit_per_configuration_and_the_plain_name_for_the_default():
    assert unit_name('haproxy', '/etc/cutover/haproxy', '/etc/cutover/haproxy') == 'cutover-haproxy'
    a = unit_name('haproxy', '/srv/a/haproxy', '/etc/cutover/haproxy')
    b = unit_name('haproxy', '/srv/b/haproxy', '/etc/cutover/haproxy')
    assert a != b and a.startswith('cutover-haproxy-') and a == unit_name('haproxy', '/srv/a/haproxy', '/etc/cutover/haproxy')


def test_the_unit_restarts_always_reloads_gracefully_and_starts_after_the_engines():
    text = render_haproxy_unit('/usr/sbin/haproxy', '/etc/cutover/haproxy', '/run/cutover/haproxy/haproxy.pid',
                               '/run/cutover/haproxy/handover.env', '/run/cutover/haproxy')
    lines = text.splitlines()
    assert 'ExecStartPre=/bin/mkdir -p /run/cutover/haproxy' in lines  # /run is empty after a boot
    assert 'StartLimitIntervalSec=0' in lines  # never gives up restarting
    assert 'Restart=always' in lines and 'WantedBy=multi-user.target' in lines and 'Type=notify' in lines
    assert 'After=network-online.target docker.service podman.service' in lines
    assert 'ExecStart=/usr/sbin/haproxy -Ws -f /etc/cutover/haproxy -p /run/cutover/haproxy/haproxy.pid $CUTOVER_HANDOVER' in lines
    # the config is checked before a reload signals the master: a bad config never replaces the workers
    reloads = [line for line in lines if line.startswith('ExecReload=')]
    assert reloads == ['ExecReload=/usr/sbin/haproxy -c -q -f /etc/cutover/haproxy', 'ExecReload=/bin/kill -USR2 $MAINPID']
    # the handover file is optional (EnvironmentFile=-): only an upgrade's first start has one
    assert 'EnvironmentFile=-/run/cutover/haproxy/handover.env' in lines
