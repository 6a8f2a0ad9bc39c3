"""One deploy across an inventory of two hosts: one reached over real SSH (an sshd on 127.0.0.1
with its own key, driving Docker) and one over the local connection (driving Podman). Each host has
its own state folder, HAProxy and listen port, as separate machines would."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from bench.loadgen import free_port
from tests.helpers import REPO, run_playbook, start_playbook
from tests.proxies import get_body

DEPLOY = REPO / 'playbooks' / 'deploy.yml'
STATUS = REPO / 'playbooks' / 'status.yml'
SFTP = '/usr/lib/openssh/sftp-server'


@pytest.fixture
def sshd(tmp_path):
    for name in ('client', 'host'):
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(tmp_path / name)], check=True)
    authorized = tmp_path / 'authorized_keys'
    authorized.write_text((tmp_path / 'client.pub').read_text())
    Path('/run/sshd').mkdir(exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(['/usr/sbin/sshd', '-D', '-e', '-f', '/dev/null', '-o', 'ListenAddress=127.0.0.1',
                             '-o', 'Port=%d' % port, '-o', 'HostKey=%s' % (tmp_path / 'host'),
                             '-o', 'AuthorizedKeysFile=%s' % authorized, '-o', 'PermitRootLogin=prohibit-password',
                             '-o', 'StrictModes=no', '-o', 'UsePAM=no', '-o', 'PidFile=none',
                             '-o', 'Subsystem=sftp %s' % SFTP], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    yield dict(port=port, key=str(tmp_path / 'client'))
    proc.terminate()
    proc.wait(5)


def host_vars(tmp, name, engine, prefix):
    port = free_port()
    return port, dict(
        cutover_engine=dict(type=engine), cutover_image_prefix=prefix, cutover_state_dir=str(tmp / name / 'state'),
        cutover_proxy=dict(listen='127.0.0.1:%d' % port, config_dir=str(tmp / name / 'haproxy'),
                           admin_socket=str(tmp / name / 'run' / 'admin.sock'),
                           state_file=str(tmp / name / 'state' / 'hp')))


def stop_haproxy(tmp, name):
    pid_file = tmp / name / 'run' / 'haproxy.pid'
    if pid_file.exists():
        subprocess.run(['kill'] + pid_file.read_text().split(), check=False)


def test_deploy_across_ssh_and_local_hosts(sshd, tmp_path, docker_engine, podman_engine, service):
    engine = podman_engine
    ssh_port, ssh_vars = host_vars(tmp_path, 'remote', 'docker', '')
    local_port, local_vars = host_vars(tmp_path, 'local', 'podman', 'localhost/')
    ssh_vars.update(ansible_host='127.0.0.1', ansible_port=sshd['port'], ansible_user='root',
                    ansible_ssh_private_key_file=sshd['key'],
                    ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null')
    local_vars.update(ansible_connection='local')
    inventory = tmp_path / 'inventory.json'
    inventory.write_text(json.dumps({'all': {
        'hosts': {'remote-docker': ssh_vars, 'local-podman': local_vars},
        'vars': dict(cutover_service=service, cutover_container_port=8080, cutover_stop_timeout=2,
                     cutover_health=dict(path='/health', interval=0.3),
                     cutover_image='{{ cutover_image_prefix }}demoapp:{{ tag }}')}}))
    try:
        run = run_playbook(DEPLOY, dict(tag='v1'), inventory=inventory)
        assert run.rc == 0, run.stdout[-3000:]
        assert get_body(ssh_port) == 'demoapp v1' and get_body(local_port) == 'demoapp v1'
        assert len(docker_engine.containers(service)) == 1 and len(engine.containers(service)) == 1

        # A deploy over SSH holds the lock under its SSH session; a second one fails fast naming it.
        record = tmp_path / 'first.jsonl'
        record.touch()
        first = start_playbook(DEPLOY, record, dict(tag='v2', cutover_hosts='remote-docker',
                                                    cutover_public_env={'BOOT_DELAY': '4'}), inventory=inventory)
        lock = tmp_path / 'remote' / 'state' / ('%s.lock' % service)
        end = time.monotonic() + 30
        while not lock.exists() and time.monotonic() < end:
            time.sleep(0.05)
        holder = json.loads(lock.read_text())
        cmdline = Path('/proc/%d/cmdline' % holder['process'][0]).read_bytes()
        assert b'sshd:' in cmdline, cmdline
        second = run_playbook(DEPLOY, dict(tag='v3', cutover_hosts='remote-docker'), inventory=inventory)
        assert second.rc != 0 and 'holds the lock' in second.failed[0]['result']['msg']
        assert first.wait(90) == 0
        assert get_body(ssh_port) == 'demoapp v2' and get_body(local_port) == 'demoapp v1'

        status = run_playbook(STATUS, inventory=inventory)
        assert status.rc == 0
        tables = {r['host']: r['result']['msg'] for r in status.results
                  if r['status'] == 'ok' and r['task'].endswith('Show the releases')}
        assert set(tables) == {'remote-docker', 'local-podman'}
        assert len(tables['remote-docker']) == 2 + 2 and len(tables['local-podman']) == 2 + 1
    finally:
        stop_haproxy(tmp_path, 'remote')
        stop_haproxy(tmp_path, 'local')
