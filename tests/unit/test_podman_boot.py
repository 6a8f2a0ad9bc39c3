"""Podman's live containers back at boot (plugins/module_utils/_podman_boot.py): where a unit is written,
its name per state folder, what the unit runs, and what the boot script starts (run here against a stand-in
`podman` on PATH that records its calls: the script itself is what runs on a host at boot)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.cutover.deploy.plugins.module_utils._podman_boot import (
    START_SCRIPT, boot_files, boot_support, boot_unit_name, render_boot_unit)


@pytest.mark.parametrize('url, podman, euid, booted, unit', [
    ('unix:///run/podman/podman.sock', True, 0, True, True),
    ('unix:///var/run/docker.sock', False, 0, True, False),        # Docker restarts its own containers
    ('unix:///run/podman/podman.sock', True, 0, False, False),     # no systemd: nothing to write a unit for
    ('tcp://127.0.0.1:2376', True, 0, True, False),                # an engine over TCP: no socket on this host to know it by
    ('unix:///run/user/1000/podman/podman.sock', True, 1000, True, False),  # rootless: not a system unit
])
def test_a_unit_only_for_root_podman_on_a_systemd_host(url, podman, euid, booted, unit):
    why_not = boot_support(url, podman, euid, booted)
    assert (why_not is None) == unit, why_not
    if not unit:
        assert isinstance(why_not, str) and why_not


def test_one_unit_per_state_folder():
    assert boot_unit_name('/var/lib/cutover') == boot_unit_name('/var/lib/cutover/') == 'cutover-podman-start'
    other = boot_unit_name('/srv/cutover-state')
    assert other.startswith('cutover-podman-start-') and other != boot_unit_name('/srv/other')


def test_the_unit_is_a_oneshot_after_podman_enabled_at_boot():
    text = render_boot_unit('/usr/bin/python3', '/usr/local/lib/cutover/x.py', '/var/lib/cutover')
    lines = text.splitlines()
    assert 'Type=oneshot' in lines and 'RemainAfterExit=yes' in lines and 'WantedBy=multi-user.target' in lines
    assert 'ExecStart=/usr/bin/python3 /usr/local/lib/cutover/x.py start /var/lib/cutover' in lines
    assert 'ExecStop=/usr/bin/python3 /usr/local/lib/cutover/x.py stop' in lines
    after = [line for line in lines if line.startswith('After=')][0]
    assert 'podman.socket' in after and 'network-online.target' in after
    name, files = boot_files('/var/lib/cutover/', '/usr/bin/python3')
    order = '/etc/systemd/system/libpod-.scope.d/%s.conf' % name
    assert sorted(files) == ['/etc/systemd/system/%s.service' % name, order, '/usr/local/lib/cutover/%s.py' % name]
    # every Podman container's scope is stopped after the unit at shutdown (its stop goes first)
    assert 'Before=%s.service' % name in files[order].splitlines() and '[Unit]' in files[order].splitlines()


def test_the_boot_script_starts_each_live_container_podman_has(tmp_path):
    state = tmp_path / 'state'
    state.mkdir()
    (state / 'web.json').write_text(json.dumps({'live': {'container': 'web-b'}, 'history': []}))
    (state / 'api.json').write_text(json.dumps({'live': {'container': 'api-a'}, 'history': []}))
    (state / 'docker-svc.json').write_text(json.dumps({'live': {'container': 'not-podmans'}, 'history': []}))
    (state / 'new.json').write_text(json.dumps({'live': None, 'history': []}))
    (state / 'broken.json').write_text('{not json')
    (state / 'web.lock').write_text('{}')
    calls = tmp_path / 'calls'
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake = bin_dir / 'podman'  # stands in for podman: knows web-b and api-a, records every call
    fake.write_text('#!/bin/sh\necho "$*" >> %s\ncase "$*" in *not-podmans*) exit 1;; esac\nexit 0\n' % calls)
    fake.chmod(0o755)
    script = tmp_path / 'start.py'
    script.write_text(START_SCRIPT)
    done = subprocess.run([sys.executable, str(script), 'start', str(state), '1'], capture_output=True, text=True, check=False,
                          env=dict(os.environ, PATH='%s:%s' % (bin_dir, os.environ['PATH'])))
    assert done.returncode == 0, done.stderr
    started = [line.split()[1] for line in calls.read_text().splitlines() if line.startswith('start ')]
    assert started == ['api-a', 'web-b']  # the docker service's container is not Podman's; nothing live: nothing
    assert 'broken.json: not a state file' in done.stdout


def _fake_podman(tmp_path, body):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / 'podman'
    fake.write_text('#!/bin/sh\necho "$*" >> %s\n%s\n' % (tmp_path / 'calls', body))
    fake.chmod(0o755)
    script = tmp_path / 'start.py'
    script.write_text(START_SCRIPT)
    return lambda *args: subprocess.run([sys.executable, str(script)] + list(args), capture_output=True, text=True,
                                        check=False, env=dict(os.environ, PATH='%s:%s' % (bin_dir, os.environ['PATH'])))


def test_a_start_that_fails_is_cleaned_up_and_tried_again_until_it_runs_or_time_is_up(tmp_path):
    state = tmp_path / 'state'
    state.mkdir()
    (state / 'web.json').write_text(json.dumps({'live': {'container': 'web-b'}}))
    (state / 'api.json').write_text(json.dumps({'live': {'container': 'api-a'}}))
    # web-b never starts; api-a's first start fails, and then Podman's restart policy has started it meanwhile
    run = _fake_podman(tmp_path, 'case "$*" in "start web-b") echo "invalid netns path" >&2; exit 125;;\n'
                                 '"start api-a") touch %s/api-up; exit 125;;\n'
                                 '"inspect -f {{.State.Running}} api-a") [ -e %s/api-up ] && echo true || echo false;;\n'
                                 '"inspect"*) echo false;; esac\nexit 0' % (tmp_path, tmp_path))
    done = run('start', str(state), '1.5')
    assert done.returncode == 1 and 'web-b: failed: invalid netns path' in done.stdout and 'api-a: running' in done.stdout
    calls = (tmp_path / 'calls').read_text().splitlines()
    # a clean-up first (what an unclean shutdown left), then one after each failed start while there is time
    assert calls.count('start api-a') == 1 and calls.count('container cleanup api-a') == 2
    assert calls.count('start web-b') >= 2 and calls.count('container cleanup web-b') == calls.count('start web-b')


def test_at_shutdown_cutover_containers_are_stopped_until_none_starts_again(tmp_path):
    # the stand-in lists a container twice (Podman's restart policy started it again once), then none
    counter = tmp_path / 'n'
    counter.write_text('0')
    run = _fake_podman(tmp_path, 'case "$1" in ps) n=$(cat %s); echo $((n+1)) > %s; [ "$n" -lt 2 ] && echo aaa;; esac\n'
                                 'exit 0' % (counter, counter))
    assert run('stop').returncode == 0
    calls = (tmp_path / 'calls').read_text().splitlines()
    assert calls.count('stop aaa') == 2 and calls[0] == 'ps -q --filter label=io.cutover.managed=true'
    assert calls[-4:] == ['ps -q --filter label=io.cutover.managed=true'] * 4  # quiet for a second: done
