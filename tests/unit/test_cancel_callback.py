"""The cancel callback's command: the interrupted run's options, its playbooks replaced by the cancel play."""

from __future__ import annotations

import json

from ansible_collections.cutover.deploy.plugins.callback.cancel import cancel_command

HELD = {'web1': {'service': 'web', 'run_id': 'r1', 'state_dir': '/var/lib/cutover'},
        'web2': {'service': 'web', 'run_id': 'r2', 'state_dir': '/var/lib/cutover'}}


def test_keeps_inventory_connection_and_extra_vars_and_replaces_the_playbook():
    argv = ['/venv/bin/ansible-playbook', '-i', 'hosts.ini', 'cutover.deploy.deploy', '-u', 'deploy',
            '--private-key=/k', '-e', 'cutover_service=web', '-e', '@vars.yml', '--limit', 'web*']
    cmd = cancel_command(argv, ['cutover.deploy.deploy'], HELD, executable='/venv/bin/python')
    assert cmd[:2] == ['/venv/bin/python', '/venv/bin/ansible-playbook']
    assert cmd[2:-3] == ['-i', 'hosts.ini', '-u', 'deploy', '--private-key=/k', '-e', 'cutover_service=web',
                         '-e', '@vars.yml', '--limit', 'web*']
    assert cmd[-1] == 'cutover.deploy.cancel' and cmd[-3] == '-e'
    extra = json.loads(cmd[-2])
    assert extra == {'_cutover_cancel': HELD, 'cutover_hosts': 'web1,web2'}


def test_drops_what_would_skip_or_fake_the_cancel_play():
    argv = ['ansible-playbook', 'site.yml', '--tags', 'deploy', '-t', 'x', '--skip-tags=slow', '--step',
            '--start-at-task', 'Gate green on health', '--check', '-C', '-e', 'a=1']
    cmd = cancel_command(argv, ['site.yml'], HELD, executable='py')
    assert cmd[2:-3] == ['-e', 'a=1']


def test_an_interrupt_python_swallowed_is_raised_again_once_at_the_next_task(monkeypatch):
    """A KeyboardInterrupt raised while Python runs a finalizer or an at-fork hook is printed and dropped; the
    callback raises it again at the next task or result, once, so the run stops and the cancel play runs."""
    import pytest  # pylint: disable=import-outside-toplevel
    from ansible_collections.cutover.deploy.plugins.callback import cancel  # pylint: disable=import-outside-toplevel
    monkeypatch.setattr(cancel.CallbackModule, '_take_over_signals', lambda self: None)
    monkeypatch.setattr(cancel.atexit, 'register', lambda func: None)
    callback = cancel.CallbackModule()
    callback.v2_playbook_on_task_start(None, False)  # not interrupted: nothing happens
    callback.interrupted = 'SIGINT'
    with pytest.raises(KeyboardInterrupt):
        callback.v2_playbook_on_task_start(None, False)
    callback.v2_runner_on_skipped(None)  # raised once: the unwinding run is not interrupted again
