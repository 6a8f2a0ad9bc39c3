"""The cancel callback's command: the interrupted run's options, its playbooks replaced by the cancel play."""

from __future__ import annotations

import json

from ansible_collections.cutover.deploy.plugins.callback.cancel import cancel_command

HELD = {'web1': {'service': 'web', 'run_id': 'r1', 'state_dir': '/var/lib/cutover'},
        'web2': {'service': 'web', 'run_id': 'r2', 'state_dir': '/var/lib/cutover'}}


def parsed(argv):
    """context.CLIARGS as ansible-playbook's own parser makes it from argv."""
    from ansible.cli.playbook import PlaybookCLI  # pylint: disable=import-outside-toplevel
    cli = PlaybookCLI(['ansible-playbook'] + argv)
    cli.init_parser()
    return vars(cli.post_process_args(cli.parser.parse_args(argv)))


def test_keeps_inventory_connection_and_extra_vars_and_replaces_the_playbook():
    cliargs = parsed(['-i', 'hosts.ini', 'cutover.deploy.deploy', '-u', 'deploy', '--private-key=/k', '-e',
                      'cutover_service=web', '-e', '@/srv/vars.yml', '--limit', 'web*', '-b', '-vv',
                      '--ssh-common-args', '-o ProxyJump=bastion'])
    cmd = cancel_command(cliargs, '/venv/bin/ansible-playbook', HELD, ['default@/tmp/v0'], executable='/venv/bin/python')
    assert cmd[:2] == ['/venv/bin/python', '/venv/bin/ansible-playbook']
    for option in ('--user=deploy', '--private-key=/k', '--extra-vars=cutover_service=web',
                   '--extra-vars=@/srv/vars.yml', '--limit=web*', '--become', '-vv',
                   '--ssh-common-args=-o ProxyJump=bastion', '--vault-id=default@/tmp/v0'):
        assert option in cmd, (option, cmd)
    assert any(a.startswith('--inventory=') and a.endswith('hosts.ini') for a in cmd), cmd
    assert cmd.index('--extra-vars=cutover_service=web') < cmd.index('--extra-vars=@/srv/vars.yml')  # order kept
    assert cmd[-1] == 'cutover.deploy.cancel' and 'cutover.deploy.deploy' not in cmd
    extra = json.loads(cmd[-2].split('=', 1)[1])
    assert extra == {'_cutover_cancel': HELD, 'cutover_hosts': 'web1,web2'}


def test_drops_what_would_skip_or_fake_the_cancel_play_in_any_spelling():
    """Abbreviated long options and short clusters, which argparse accepts, must not slip through either."""
    for argv in (['site.yml', '--tags', 'deploy', '--skip-tags=slow', '--step', '--start-at-task', 'Gate', '--check'],
                 ['site.yml', '-tdeploy', '--tag', 'x', '--skip', 'slow', '--start-at', 'Gate', '-vC'],
                 ['site.yml', '--che', '-t', 'a,b', '--vault-password-file', '/v', '--vault-id', 'prod@prompt']):
        cmd = cancel_command(parsed(argv + ['-e', 'a=1']), 'ansible-playbook', HELD, executable='py')
        text = ' '.join(cmd[2:])  # the interpreter and playbook paths depend on where the tests run
        for word in ('tag', 'skip', 'step', 'start', 'check', '-C', 'deploy', 'Gate', 'vault', 'site.yml'):
            assert word not in text.replace('cutover.deploy.cancel', ''), (word, argv, cmd)
        assert '--extra-vars=a=1' in cmd


def test_the_run_s_vault_secrets_are_handed_over_in_private_files(tmp_path):
    from ansible.parsing.vault import VaultSecret  # pylint: disable=import-outside-toplevel
    from ansible_collections.cutover.deploy.plugins.callback.cancel import write_vault_ids  # pylint: disable=import-outside-toplevel
    ids = write_vault_ids([('default', VaultSecret(b'hunter2')), ('prod', VaultSecret(b's3cret'))], str(tmp_path))
    assert [i.split('@')[0] for i in ids] == ['default', 'prod']
    first = tmp_path / ids[0].split('@', 1)[1].rsplit('/', 1)[1]
    assert first.read_bytes() == b'hunter2' and oct(first.stat().st_mode & 0o777) == '0o600'


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


def test_hands_over_each_cutover_setting_templated_and_leaves_out_what_does_not_template():
    """The cutover_* settings and connection variables as the interrupted run resolved them (from group_vars
    beside its playbook, play vars...), templated with ansible's own Templar over the host's variables; one that
    needs a later result is left out, and nothing else of the host's variables goes along (facts, check mode)."""
    from ansible.parsing.dataloader import DataLoader  # pylint: disable=import-outside-toplevel
    from ansible.template import Templar  # pylint: disable=import-outside-toplevel
    from ansible_collections.cutover.deploy.plugins.callback.cancel import cutover_settings  # pylint: disable=import-outside-toplevel
    try:  # ansible-core >= 2.19 templates only what it trusts: what its loader read from files and the command line
        from ansible.template import trust_as_template  # pylint: disable=import-outside-toplevel
    except ImportError:
        def trust_as_template(value):
            return value
    variables = {'registry': 'reg.example:5000', 'cutover_image': trust_as_template('{{ registry }}/web:2'),
                 'cutover_proxy': {'type': 'haproxy', 'listen': trust_as_template('127.0.0.1:{{ 8000 + 80 }}')},
                 'cutover_metrics_file': '/srv/metrics/cutover.prom', 'cutover_keep': 2,
                 'cutover_later': trust_as_template('{{ result_registered_later.stdout }}'), 'ansible_host': '127.0.0.5',
                 'ansible_facts': {'os': 'x'}, 'ansible_check_mode': True, 'groups': {'all': ['web1']}}
    settings = cutover_settings(variables, Templar(loader=DataLoader(), variables=variables).template)
    assert settings == {'ansible_host': '127.0.0.5', 'cutover_image': 'reg.example:5000/web:2', 'cutover_keep': 2,
                        'cutover_metrics_file': '/srv/metrics/cutover.prom',
                        'cutover_proxy': {'type': 'haproxy', 'listen': '127.0.0.1:8080'}}
    assert json.loads(json.dumps(settings)) == settings
