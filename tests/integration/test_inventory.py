"""One deploy across an inventory of two hosts: one reached over real SSH (an sshd on 127.0.0.1
with its own key, driving Docker) and one over the local connection (driving Podman). Each host has
its own state folder, HAProxy and listen port, as separate machines would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bench.loadgen import free_port
from tests.helpers import REPO, read_records, remove_proxy_containers, run_playbook, start_playbook
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
                           state_file=str(tmp / name / 'state' / 'hp'), image=prefix + 'cutover-haproxy:local'))


def steps_of(record):
    """What a background run did, task by task, for an assertion's message."""
    keys = ('msg', 'already_live', 'upstream', 'actions', 'plan')
    return '\n'.join('%s %s: %s' % (r['status'], r['task'], {k: r['result'][k] for k in keys if k in r['result']})
                     for r in read_records(record))


def stop_haproxy(tmp, name):
    remove_proxy_containers(tmp / name / 'haproxy')
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

        # A deploy over SSH holds the lock as a lease (no process on the host lives as long as the
        # play); a second one fails fast naming it.
        record = tmp_path / 'first.jsonl'
        record.touch()
        first = start_playbook(DEPLOY, record, dict(tag='v2', cutover_hosts='remote-docker',
                                                    cutover_public_env={'BOOT_DELAY': '4'}), inventory=inventory)
        lock = tmp_path / 'remote' / 'state' / ('%s.lock' % service)
        end = time.monotonic() + 30
        while not lock.exists() and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(0.2)
        holder = json.loads(lock.read_text())
        assert holder['process'] is None and holder['expires'] > time.time() and holder['boot_id'], holder
        second = run_playbook(DEPLOY, dict(tag='v3', cutover_hosts='remote-docker'), inventory=inventory)
        assert second.rc != 0 and 'holds the lock' in second.failed[0]['result']['msg']
        assert first.wait(90) == 0, steps_of(record)
        assert (get_body(ssh_port), get_body(local_port)) == ('demoapp v2', 'demoapp v1'), steps_of(record)

        status = run_playbook(STATUS, inventory=inventory)
        assert status.rc == 0
        tables = {r['host']: r['result']['msg'] for r in status.results
                  if r['status'] == 'ok' and r['task'].endswith('Show the releases')}
        assert set(tables) == {'remote-docker', 'local-podman'}
        assert len(tables['remote-docker']) == 2 + 2 and len(tables['local-podman']) == 2 + 1
    finally:
        stop_haproxy(tmp_path, 'remote')
        stop_haproxy(tmp_path, 'local')


@pytest.mark.parametrize('control_master', ['auto', 'no'])
def test_sigkill_over_ssh_the_next_deploy_breaks_the_lock(control_master, sshd, tmp_path, docker_engine, service):
    """ansible-playbook killed mid-deploy over SSH (with and without a shared connection): the lease
    stops being renewed, and the next deploy breaks the lock with a warning naming the dead holder."""
    port, host = host_vars(tmp_path, 'remote', 'docker', '')
    host.update(ansible_host='127.0.0.1', ansible_port=sshd['port'], ansible_user='root',
                ansible_ssh_private_key_file=sshd['key'],
                ansible_ssh_args='-o ControlMaster=%s -o ControlPersist=60s -o ControlPath=%s/cm-%%%%C'
                % (control_master, tmp_path),
                ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null')
    inventory = tmp_path / 'inventory.json'
    inventory.write_text(json.dumps({'all': {'hosts': {'remote': host}, 'vars': dict(
        cutover_service=service, cutover_container_port=8080, cutover_stop_timeout=2, cutover_lock_lease=6,
        cutover_health=dict(path='/health', interval=0.3), cutover_image='demoapp:{{ tag }}')}}))
    try:
        assert run_playbook(DEPLOY, dict(tag='v1'), inventory=inventory).rc == 0
        record = tmp_path / 'killed.jsonl'
        record.touch()
        killed = start_playbook(DEPLOY, record, dict(tag='v2', cutover_public_env={'BOOT_DELAY': '20'}),
                                inventory=inventory)
        end = time.monotonic() + 60
        while time.monotonic() < end and not any(r['task'].endswith('Gate the new container on health')
                                                 for r in read_records(record)):
            time.sleep(0.05)
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(10)
        lock = tmp_path / 'remote' / 'state' / ('%s.lock' % service)
        assert lock.exists()
        nxt = run_playbook(DEPLOY, dict(tag='v3', cutover_lock_wait=40), inventory=inventory)
        assert nxt.rc == 0, nxt.stdout[-3000:]
        said = ' '.join((nxt.stdout + nxt.stderr).split())  # warnings are wrapped at the terminal width
        assert 'breaking the stale deploy lock' in said and 'lease expired' in said, said[-2000:]
        assert get_body(port) == 'demoapp v3'
    finally:
        stop_haproxy(tmp_path, 'remote')
