"""How a proxy is supervised: which runtime `auto` means on a host, the unit Cutover writes, its name."""
import pytest

from ansible_collections.cutover.deploy.plugins.module_utils._proxy.site import local_engine, proxy_opts_error, proxy_runtime
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.systemd import (
    render_caddy_unit, render_haproxy_unit, render_nginx_unit, unit_name,
)


@pytest.mark.parametrize('asked, booted, local_engine, runs', [
    ('auto', True, True, 'systemd'), ('auto', True, False, 'systemd'),
    ('auto', False, True, 'container'),  # no systemd: a container with a restart policy on the host's own engine
    ('auto', False, False, 'host'),  # no systemd, no engine on this host (a load balancer host): unsupervised
    ('systemd', False, True, 'systemd'),  # asked for: refused later by systemctl, never silently unsupervised
    ('host', True, True, 'host'), ('host', False, True, 'host'), ('container', True, False, 'container'),
])
def test_auto_is_a_unit_where_systemd_is_pid_1_else_a_container_on_the_local_engine(asked, booted, local_engine, runs):
    assert proxy_runtime(asked, 'haproxy', booted, local_engine=local_engine) == runs
    # HAProxy hands its sockets over from an older release's unsupervised process
    assert proxy_runtime(asked, 'haproxy', booted, unsupervised_running=True, local_engine=local_engine) == runs


def test_a_local_engine_is_a_unix_socket_that_is_there(tmp_path):
    sock = tmp_path / 'engine.sock'
    sock.touch()
    assert local_engine('unix://%s' % sock)
    assert not local_engine('unix://%s' % (tmp_path / 'none.sock'))
    assert not local_engine('tcp://127.0.0.1:2376') and not local_engine('ssh://host') and not local_engine(None)


@pytest.mark.parametrize('kind', ['nginx', 'caddy'])
@pytest.mark.parametrize('unit_written, unsupervised_running, runs', [
    (False, False, 'systemd'),  # a fresh host
    (False, True, 'host'),  # an older release's process, which cannot hand its sockets over: left as it is
    (True, True, 'systemd'),  # ours already (the unit's own process is the one running)
])
def test_nginx_and_caddy_move_to_a_unit_only_when_nothing_is_refused_on_the_way(kind, unit_written,
                                                                                unsupervised_running, runs):
    assert proxy_runtime('auto', kind, True, unit_written, unsupervised_running) == runs
    assert proxy_runtime('auto', kind, False, unit_written, unsupervised_running) == 'host'
    assert proxy_runtime('auto', kind, False, unit_written, unsupervised_running, local_engine=True) == 'host'
    assert proxy_runtime('systemd', kind, True, unit_written, unsupervised_running) == 'systemd'
    err = proxy_opts_error(dict(type=kind, runtime='container', listen='127.0.0.1:8080'), 'web')
    assert 'proxy.runtime container' in err and 'auto, systemd, host' in err
    assert proxy_opts_error(dict(type=kind, runtime='systemd', listen='127.0.0.1:8080'), 'web') is None


def test_the_nginx_and_caddy_units_restart_always_and_reload_gracefully():
    nginx = render_nginx_unit('/usr/sbin/nginx', '/etc/cutover/nginx/nginx.conf', '/run/cutover/nginx/nginx.pid').splitlines()
    assert 'Restart=always' in nginx and 'StartLimitIntervalSec=0' in nginx and 'PIDFile=/run/cutover/nginx/nginx.pid' in nginx
    assert 'ExecStartPre=/bin/mkdir -p /run/cutover/nginx' in nginx
    assert [line for line in nginx if line.startswith('ExecReload=')] == [
        'ExecReload=/usr/sbin/nginx -t -q -c /etc/cutover/nginx/nginx.conf',
        'ExecReload=/usr/sbin/nginx -c /etc/cutover/nginx/nginx.conf -s reload']
    caddy = render_caddy_unit('/usr/bin/caddy', '/etc/cutover/caddy', '/etc/cutover/caddy/base.json',
                              '/run/cutover/caddy').splitlines()
    assert 'ExecStart=/usr/bin/caddy run --resume --config /etc/cutover/caddy/base.json' in caddy
    assert 'ExecStartPre=/bin/mkdir -p -m 700 /run/cutover/caddy' in caddy and 'Restart=always' in caddy
    assert 'Environment=XDG_CONFIG_HOME=/etc/cutover/caddy/config XDG_DATA_HOME=/etc/cutover/caddy/data' in caddy


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
