"""The proxy role (proxy_site) against real HAProxy (host process and container), nginx and Caddy.

Each case runs the role twice (changed, then not changed), swaps the route, runs the role again
and checks the swap was kept.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from tests.helpers import remove_proxy_containers, run_module, run_playbook
from tests.proxies import App, free_port, get_body


def role_play(service, proxy, engine_host='unix:///var/run/docker.sock'):
    return [dict(hosts='localhost', gather_facts=False,
                 vars=dict(cutover_service=service, cutover_proxy=proxy, cutover_engine=dict(host=engine_host)),
                 roles=['cutover.deploy.proxy'])]


def proxy_opts(kind, tmp, listen_port, runtime='host'):
    if kind == 'haproxy':
        return dict(type='haproxy', runtime=runtime, listen='127.0.0.1:%d' % listen_port,
                    config_dir=str(tmp / 'etc'), admin_socket=str(tmp / 'run' / 'admin.sock'),
                    state_file=str(tmp / 'state' / 'server-state'), image='cutover-haproxy:local')
    if kind == 'nginx':
        return dict(type='nginx', listen='127.0.0.1:%d' % listen_port, conf=str(tmp / 'etc' / 'nginx.conf'),
                    upstream_dir=str(tmp / 'etc' / 'upstreams'), pid_file=str(tmp / 'run' / 'nginx.pid'))
    return dict(type='caddy', listen='127.0.0.1:%d' % listen_port, admin_url='http://127.0.0.1:%d' % free_port(),
                caddy_dir=str(tmp / 'caddy'))


def wait_for_file(path, seconds=5):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if path.exists():
            return True
        time.sleep(0.1)
    return False


def served_again(port, body, seconds):
    """Whether the proxy answers body within seconds (one request per 0.2 s at most)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if get_body(port) == body:
                return True
        except (OSError, http.client.HTTPException):  # refused, reset, or cut short by the proxy going away
            pass
        time.sleep(0.2)
    return False


def stop_proxy(opts):
    if opts['type'] == 'haproxy' and opts['runtime'] != 'host':
        remove_proxy_containers(opts['config_dir'])
    elif opts['type'] == 'haproxy':
        pid_file = os.path.join(os.path.dirname(opts['admin_socket']), 'haproxy.pid')
        for pid in open(pid_file).read().split():
            os.kill(int(pid), signal.SIGTERM)
    elif opts['type'] == 'nginx':
        subprocess.run(['nginx', '-c', opts['conf'], '-s', 'quit'], check=False, capture_output=True)
    else:
        urllib.request.urlopen(urllib.request.Request(opts['admin_url'] + '/stop', method='POST'), timeout=5)


# auto: HAProxy's default; on a host without systemd (this one) a container on the local engine
@pytest.mark.parametrize('kind,runtime', [('haproxy', 'host'), ('haproxy', 'auto'), ('nginx', 'host'),
                                          ('caddy', 'host')])
def test_proxy_role_is_idempotent_and_keeps_the_live_route(kind, runtime, tmp_path, docker_engine):
    app = App(tmp_path, 'v1')
    port = free_port()
    opts = proxy_opts(kind, tmp_path, port, runtime)
    try:
        first = run_playbook(role_play('web', opts))
        assert first.rc == 0, first.stdout + first.stderr
        site = first.task('Ensure the proxy serves web')['result']
        assert site['changed'] and site['upstream'] is None

        if kind == 'nginx':  # an error log past its limit: the next run rotates it, and nginx writes a new one
            log = tmp_path / 'etc' / 'error.log'
            with log.open('ab') as f:
                f.write(b'x' * (10 * 1024 * 1024 + 1))
        second = run_playbook(role_play('web', opts))
        assert second.rc == 0 and not second.task('Ensure the proxy serves web')['result']['changed'], second.stdout
        if kind == 'nginx':
            assert (tmp_path / 'etc' / 'error.log.1').stat().st_size > 10 * 1024 * 1024
            assert wait_for_file(log), 'nginx did not reopen its error log'
        if kind == 'caddy':  # Caddy's own log, rolled by Caddy, in its folder
            with urllib.request.urlopen(opts['admin_url'] + '/config/logging', timeout=5) as answer:
                writer = json.load(answer)['logs']['default']['writer']
            assert writer['filename'] == str(tmp_path / 'caddy' / 'caddy.log') and writer['roll_size_mb'] == 10, writer

        driver_opts = {k: v for k, v in opts.items() if k not in ('listen', 'runtime', 'image', 'container_name', 'caddy_dir')}
        swap = run_module('proxy_swap', dict(proxy=driver_opts, route='web', upstream=app.upstream))
        assert swap['changed'], swap
        assert get_body(port) == 'demoapp v1'
        supervision = site['supervision']
        if runtime == 'auto':  # supervised by the engine: kill -9 of HAProxy, and it serves again, no play run
            assert supervision['runtime'] == 'container' and supervision['supervised'], supervision
            assert supervision['restart_policy'] == 'unless-stopped' and supervision['container'].startswith('cutover-haproxy-')
            container = docker_engine.client.containers.get(supervision['container'])
            # from the host, as a crash or the OOM killer would (the engine ignores the policy after `docker kill`)
            os.kill(container.attrs['State']['Pid'], signal.SIGKILL)
            assert served_again(port, 'demoapp v1', 20), docker_engine.client.containers.get(supervision['container']).status
        else:
            assert supervision['runtime'] == 'host' and not supervision['supervised'], supervision

        third = run_playbook(role_play('web', opts))
        res = third.task('Ensure the proxy serves web')['result']
        assert not res['changed'] and res['upstream'] == app.upstream
        assert get_body(port) == 'demoapp v1'

        # A new listen address is a config change: reload, and the swapped route survives it.
        new_port = free_port()
        moved = run_playbook(role_play('web', dict(opts, listen='127.0.0.1:%d' % new_port)))
        res = moved.task('Ensure the proxy serves web')['result']
        assert moved.rc == 0 and res['changed'], moved.stdout
        assert get_body(new_port) == 'demoapp v1'
    finally:
        stop_proxy(opts)
        app.stop()


def test_proxy_role_rejects_bad_input(tmp_path):
    bad = run_playbook(role_play('web', dict(type='haproxy', listen='not-an-address',
                                             config_dir=str(tmp_path / 'etc'))))
    assert bad.rc != 0 and 'proxy.listen' in bad.failed[0]['result']['msg']
    assert not (tmp_path / 'etc').exists()
    bad = run_playbook(role_play('web', dict(type='traefik')))
    assert bad.rc != 0 and 'haproxy' in bad.failed[0]['result']['msg']
    bad = run_playbook(role_play('web', dict(type='nginx', runtime='container')))
    assert bad.rc != 0 and 'runtime' in bad.failed[0]['result']['msg']


@pytest.mark.parametrize('runtime', ['host', 'auto'])
def test_haproxy_does_not_start_on_a_port_another_haproxy_serves(runtime, tmp_path, docker_engine):
    """Two HAProxies on one port both start (SO_REUSEPORT) and the kernel splits the requests between them:
    a service given another's listen address by mistake would take half its requests. The role refuses,
    naming the address, and writes nothing."""
    port = free_port()
    other = tmp_path / 'other.cfg'
    other.write_text('global\n    pidfile %s\ndefaults\n    mode http\n    timeout client 5s\n'
                     'frontend other\n    bind 127.0.0.1:%d\n'
                     '    http-request return status 200 content-type text/plain string "another service"\n'
                     % (tmp_path / 'other.pid', port))
    subprocess.run(['haproxy', '-D', '-f', str(other)], check=True)
    opts = proxy_opts('haproxy', tmp_path, port, runtime)
    try:
        run = run_playbook(role_play('web', opts))
        assert run.rc != 0
        msg = run.failed[0]['result']['msg']
        assert '127.0.0.1:%d: another process listens there' % port in msg and 'cutover_proxy.listen' in msg, msg
        assert not list((tmp_path / 'etc').glob('*.cfg'))  # nothing written, nothing started
        assert docker_engine.client.containers.list(all=True, filters={'label': 'io.cutover.config=%s' % opts['config_dir']}) == []
        assert {get_body(port) for dummy in range(6)} == {'another service'}
    finally:
        os.kill(int((tmp_path / 'other.pid').read_text().split()[0]), signal.SIGTERM)
