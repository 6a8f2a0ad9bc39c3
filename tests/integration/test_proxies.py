"""proxy_swap and the drivers against real HAProxy 2.6, Caddy 2.6 and nginx 1.22 processes.

Nginx Proxy Manager cannot run here (see tests/proxies.py): its driver is tested against FakeNPM,
an in-repo server implementing NPM's API contract in front of a real nginx.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import run_swap
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.drivers import make_driver, proxy_option_spec
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.front_door import ACME_CHALLENGE_PORTS
from bench.loadgen import LEGO_PORTS_START, Load, free_port, port_share
from tests.helpers import REPO, run_module
from tests.proxies import App, CaddyProc, FakeNPM, HAProxyProc, NginxProc, get_body

MEASUREMENTS = REPO / '.cache' / 'measurements'


class ProxyUnderTest:
    def __init__(self, kind, tmp, v1):
        self.kind = kind
        self.extra = []
        self.route = 'web'
        if kind == 'haproxy':
            self.proc = HAProxyProc(tmp)
            self.opts = dict(type='haproxy', admin_socket=self.proc.admin_socket, state_file=self.proc.state_file)
        elif kind == 'caddy':
            self.proc = CaddyProc(tmp, upstream=v1.upstream)
            self.opts = dict(type='caddy', admin_url=self.proc.admin_url)
        elif kind == 'nginx':
            self.proc = NginxProc(tmp, upstream=v1.upstream)
            self.opts = self.proc.driver_options()
        else:
            self.proc = NginxProc(tmp, upstream=v1.upstream)
            self.npm = FakeNPM(self.proc, upstream=v1.upstream)
            self.extra.append(self.npm)
            self.opts = self.npm.driver_options()
            self.route = '7'
        self.port = self.proc.port
        if kind == 'haproxy':  # the slots start in maintenance: route to v1 first
            run_swap(self.driver(), self.route, v1.upstream, 5)

    def driver(self):
        opts = {k: v.get('default') for k, v in proxy_option_spec().items()}
        opts.update(self.opts)
        return make_driver(opts)

    def stop(self):
        for thing in self.extra:
            thing.stop()
        self.proc.stop()


@pytest.fixture
def apps(tmp_path):
    started = [App(tmp_path, 'v1'), App(tmp_path, 'v2')]
    yield started
    for app in started:
        app.stop()


@pytest.fixture(params=['haproxy', 'caddy', 'nginx', 'npm'])
def proxy(request, tmp_path, apps):
    p = ProxyUnderTest(request.param, tmp_path, apps[0])
    yield p
    p.stop()


def swap_args(proxy, upstream, **extra):
    return dict(dict(proxy=proxy.opts, route=proxy.route, upstream=upstream, drain_timeout=5), **extra)


def test_swap_readback_idempotent_and_rollback(proxy, apps):
    v1, v2 = apps
    assert get_body(proxy.port) == 'demoapp v1'

    check = run_module('proxy_swap', swap_args(proxy, v2.upstream), check=True, diff=True)
    assert check['status'] == 'ok' and check['changed'] and check['previous'] == v1.upstream
    assert check['diff']['before'].strip().endswith(v1.upstream)
    assert get_body(proxy.port) == 'demoapp v1'  # check mode touched nothing

    swap = run_module('proxy_swap', swap_args(proxy, v2.upstream), diff=True)
    assert swap['status'] == 'ok' and swap['changed'], swap
    assert swap['previous'] == v1.upstream and swap['upstream'] == v2.upstream
    assert proxy.driver().read(proxy.route) == v2.upstream
    assert get_body(proxy.port) == 'demoapp v2'

    again = run_module('proxy_swap', swap_args(proxy, v2.upstream))
    assert again['status'] == 'ok' and not again['changed'] and again['plan'] == []

    back = run_module('proxy_swap', swap_args(proxy, swap['previous']))
    assert back['changed'] and back['previous'] == v2.upstream
    assert get_body(proxy.port) == 'demoapp v1'


def test_missing_route_fails_and_changes_nothing(proxy, apps):
    res = run_module('proxy_swap', dict(swap_args(proxy, apps[1].upstream), route='no-such-route' if proxy.kind != 'npm' else '99'))
    assert res['status'] == 'failed'
    assert 'no-such-route' in res['msg'] or '99' in res['msg'], res['msg']
    assert get_body(proxy.port) == 'demoapp v1'


def test_unreachable_proxy_names_where_it_looked(proxy, apps):
    broken = dict(proxy.opts)
    if proxy.kind == 'haproxy':
        broken['admin_socket'], where = '/run/no-such-haproxy.sock', '/run/no-such-haproxy.sock'
    elif proxy.kind == 'caddy':
        broken['admin_url'], where = 'http://127.0.0.1:1', '127.0.0.1:1'
    elif proxy.kind == 'nginx':
        broken['pid_file'], where = '/run/no-such-nginx.pid', '/run/no-such-nginx.pid'
    else:
        broken['url'], where = 'http://127.0.0.1:1', '127.0.0.1:1'
    res = run_module('proxy_swap', dict(swap_args(proxy, apps[1].upstream), proxy=broken))
    assert res['status'] == 'failed' and where in res['msg'], res['msg']
    assert get_body(proxy.port) == 'demoapp v1'


def test_nginx_rejected_config_keeps_old_route(tmp_path, apps):
    nginx = NginxProc(tmp_path, upstream=apps[0].upstream)
    try:
        upstream_file = nginx.upstream_dir / 'web.conf'
        before = upstream_file.read_text()
        res = run_module('proxy_swap', dict(proxy=nginx.driver_options(), route='web',
                                            upstream='no-such-host.invalid:8080'))
        assert res['status'] == 'failed' and 'nginx -t' in res['msg'] and 'restored' in res['msg']
        assert upstream_file.read_text() == before
        assert get_body(nginx.port) == 'demoapp v1'
    finally:
        nginx.stop()


def test_npm_put_carries_only_forward_fields_and_bad_login_is_clear(tmp_path, apps):
    nginx = NginxProc(tmp_path, upstream=apps[0].upstream)
    npm = FakeNPM(nginx, upstream=apps[0].upstream)
    try:
        by_domain = dict(proxy=npm.driver_options(), route='app.example.test', upstream=apps[1].upstream)
        res = run_module('proxy_swap', by_domain)
        assert res['changed'] and get_body(nginx.port) == 'demoapp v2'
        puts = [body for method, _path, body in npm.requests if method == 'PUT']
        assert puts == [{'forward_host': '127.0.0.1', 'forward_port': apps[1].port}]
        bad = dict(by_domain, proxy=dict(npm.driver_options(), password='wrong'))
        res = run_module('proxy_swap', bad)
        assert res['status'] == 'failed' and 'email/password' in res['msg']
        assert npm.PASSWORD not in json.dumps(res) and 'wrong' not in res['msg']
    finally:
        npm.stop()
        nginx.stop()


def test_haproxy_route_survives_reload_and_restart(tmp_path, apps):
    hp = HAProxyProc(tmp_path)
    try:
        driver = make_driver(dict({k: v.get('default') for k, v in proxy_option_spec().items()},
                                  type='haproxy', admin_socket=hp.admin_socket, state_file=hp.state_file))
        run_swap(driver, 'web', apps[0].upstream, 5)
        run_swap(driver, 'web', apps[1].upstream, 5)
        hp.reload()
        time.sleep(0.3)
        assert driver.read('web') == apps[1].upstream and get_body(hp.port) == 'demoapp v2'
        hp.stop()
        time.sleep(0.5)
        hp._run()
        assert driver.read('web') == apps[1].upstream and get_body(hp.port) == 'demoapp v2'
    finally:
        hp.stop()


def test_caddy_route_survives_restart_with_resume(tmp_path, apps):
    caddy = CaddyProc(tmp_path, upstream=apps[0].upstream)
    try:
        driver = make_driver(dict({k: v.get('default') for k, v in proxy_option_spec().items()},
                                  type='caddy', admin_url=caddy.admin_url))
        run_swap(driver, 'web', apps[1].upstream, 5)
        caddy.restart_resume()
        assert driver.read('web') == apps[1].upstream and get_body(caddy.port) == 'demoapp v2'
    finally:
        caddy.stop()


def test_long_request_in_flight_completes(proxy, apps):
    v1, v2 = apps
    answer = {}

    def slow():
        answer['body'] = get_body(proxy.port, '/cgi-bin/slow?3')
    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.7)  # the request is at v1 now
    res = run_swap(proxy.driver(), proxy.route, v2.upstream, drain_timeout=10)
    th.join(15)
    assert answer.get('body') == 'slow done v1'
    assert get_body(proxy.port) == 'demoapp v2'
    if proxy.kind in ('haproxy', 'caddy', 'nginx'):
        assert res['drained'] and res['drain_seconds'] > 0.5  # it waited for the slow request


SWAPS = 10


@pytest.mark.parametrize('keepalive', [True, False], ids=['keepalive', 'newconn'])
def test_swaps_under_load(proxy, apps, keepalive):
    """10 consecutive swaps under a bounded non-retrying load. HAProxy: 0 failures in both modes;
    nginx and NPM: 0 failures with a new connection per request; Caddy: at most three per swap. Caddy/nginx keep-alive losses (idle
    connections closed on config reload) are measured and recorded for docs/proxies.md."""
    driver = proxy.driver()
    swap_times = []
    with Load('127.0.0.1', proxy.port, workers=4, keepalive=keepalive, max_requests=60000, max_seconds=60) as load:
        load.wait_for(200)
        for i in range(SWAPS):
            target = apps[(i + 1) % 2].upstream
            res = run_swap(driver, proxy.route, target, drain_timeout=5)
            swap_times.append(res['swap_seconds'])
            load.wait_for(200)
    summary = load.summary()
    summary.update(proxy=proxy.kind, swaps=SWAPS, swap_p50_ms=round(sorted(swap_times)[len(swap_times) // 2] * 1000, 1),
                   failed_per_swap=round(summary['failed'] / SWAPS, 2))
    MEASUREMENTS.mkdir(parents=True, exist_ok=True)
    (MEASUREMENTS / ('swap-%s-%s.json' % (proxy.kind, summary['mode']))).write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))
    assert summary['requests'] >= 2000 and set(summary['versions']) == {'v1', 'v2'}
    if proxy.kind == 'caddy' and not keepalive:
        # Measured: Caddy 2.6 resets an occasional new connection accepted around a config reload
        # (0 to 5 in 10 swaps on a quiet machine, 12 once in a full CI run); recorded in
        # docs/proxies.md rather than hidden. The bound still catches a swap that breaks for good.
        assert summary['failed'] <= 3 * SWAPS, summary
    elif proxy.kind == 'haproxy' or not keepalive:
        assert summary['failed'] == 0, summary


@pytest.mark.parametrize('worker, workers, first, last', [
    ('', 1, 18000, 29999),      # no xdist: all 12,000 ports below lego's (and the ephemeral range)
    ('gw0', 2, 18000, 23999),   # two workers: disjoint halves
    ('gw1', 2, 24000, 29999),
    ('gw2', 3, 26000, 29999),
])
def test_test_ports_come_from_each_workers_own_share_below_the_ephemeral_range(worker, workers, first, last):
    """Two HAProxies on one port both start (SO_REUSEPORT) and split the requests: a test's listener port
    must never be another running test's, nor one the kernel hands a container or a connection, nor one
    lego answers ACME challenges on."""
    share = port_share(32768, worker, workers)
    assert (share[0], share[-1]) == (first, last)
    assert port_share(25000, '', 1)[-1] == 24999  # a host whose ephemeral range starts lower
    assert LEGO_PORTS_START == ACME_CHALLENGE_PORTS.start
    ports = [free_port() for dummy in range(50)]
    low = int(open('/proc/sys/net/ipv4/ip_local_port_range').read().split()[0])
    assert len(set(ports)) == 50 and all(p < low for p in ports)
