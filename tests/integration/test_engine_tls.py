"""The engine options over tcp:// with TLS, against the real Docker Engine.

socat terminates mutual TLS on a loopback port and forwards to the engine's unix socket (the same
as a TLS-enabled dockerd's -H tcp://... --tlsverify, without restarting the test engine).
"""

from __future__ import annotations

import subprocess
import time

import pytest

from bench.loadgen import free_port
from tests.helpers import run_module


def openssl(*args, cwd):
    subprocess.run(['openssl'] + list(args), cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def tls_engine(tmp_path, docker_engine):
    d = tmp_path
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
            '-subj', '/CN=cutover-test-ca', cwd=d)
    for name, ext in (('server', 'subjectAltName=IP:127.0.0.1'), ('client', 'extendedKeyUsage=clientAuth')):
        openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', '%s.key' % name, '-out', '%s.csr' % name,
                '-subj', '/CN=%s' % name, cwd=d)
        (d / ('%s.ext' % name)).write_text(ext + '\n')
        openssl('x509', '-req', '-in', '%s.csr' % name, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
                '-out', '%s.pem' % name, '-days', '2', '-extfile', '%s.ext' % name, cwd=d)
    port = free_port()
    proc = subprocess.Popen(['socat', 'OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s,key=%s,cafile=%s,verify=1'
                             % (port, d / 'server.pem', d / 'server.key', d / 'ca.pem'),
                             'UNIX-CONNECT:/var/run/docker.sock'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    yield dict(engine_host='tcp://127.0.0.1:%d' % port, tls=True, tls_ca_cert=str(d / 'ca.pem'),
               tls_client_cert=str(d / 'client.pem'), tls_client_key=str(d / 'client.key'))
    proc.terminate()
    proc.wait(5)


def test_green_container_over_tls(tls_engine, docker_engine, service):
    res = run_module('green_container', dict(tls_engine, service=service, image='demoapp:v1', container_port=8080))
    assert res['status'] == 'ok' and res['changed'], res['msg'] if 'msg' in res else res
    assert docker_engine.client.containers.get(res['container']['id']).status == 'running'

    no_client_cert = {k: v for k, v in tls_engine.items() if k not in ('tls_client_cert', 'tls_client_key')}
    res = run_module('reap', dict(no_client_cert, service=service))
    assert res['status'] == 'failed' and tls_engine['engine_host'] in res['msg'], res['msg']
    assert len(docker_engine.containers(service)) == 1
