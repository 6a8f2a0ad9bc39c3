# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cancel an interrupted deploy cleanly: on Ctrl-C or SIGTERM, converge every host whose lock the run held."""

from __future__ import annotations

DOCUMENTATION = r'''
name: cancel
type: aggregate
short_description: Cancel a Cutover deploy cleanly when ansible-playbook is interrupted
version_added: 1.0.0
description:
  - Without it, a deploy interrupted by Ctrl-C (SIGINT) or SIGTERM stops where it was. The old release
    stays live and routed, but the new container and the deploy lock stay behind until the next run repairs
    them (a local run's lock is stale at once, a lock over SSH when its lease expires).
  - With it, SIGTERM is handled like Ctrl-C, and before ansible-playbook exits the play
    C(cutover.deploy.cancel) runs on each host whose deploy lock the interrupted run held. Taking
    over that lock, it converges the service as M(cutover.deploy.reconcile) does. Green is removed, the
    route stays on (or goes back to) the live release, and the release is recorded as C(cancelled). Then
    the lock is released and the metrics file is updated.
  - A run cancelled after the swap already serves green; then green is kept as live, as after any
    interrupted run.
  - The cancel play gets the interrupted run's inventory, extra vars, connection and become options, read
    from its parsed arguments, and its vault secrets, handed over in private files (so nobody is asked
    again). It never inherits C(--check), C(--tags), C(--skip-tags), C(--start-at-task) or C(--step), in any
    spelling. It cannot ask for a connection or become password (C(-k), C(-K)); use a key or a password file.
  - It gets each host's C(cutover_*) settings as the interrupted run resolved them, wherever they were set
    (the inventory, C(group_vars) and C(host_vars) beside the inventory or beside your playbook, your play's
    vars, extra vars), and its connection variables (C(ansible_host), C(ansible_user), C(ansible_become) and
    the like, passwords included), handed over in a private file that is deleted afterwards.
  - While it runs, in a session of its own, further Ctrl-C and SIGTERM are ignored, for at most 600 seconds.
  - A SIGKILL (what AWX's cancel sends) cannot be handled, so the next run repairs what it left.
requirements:
  - enable it, for example in C(ansible.cfg), C([defaults] callbacks_enabled = cutover.deploy.cancel)
'''

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

from ansible import context
from ansible.plugins.callback import CallbackBase

CANCEL_PLAYBOOK = 'cutover.deploy.cancel'
CANCEL_TIMEOUT = 600  # seconds; the cancel play stops and removes one container per host
# what the cancel play takes over from the interrupted run, read from its parsed arguments (context.CLIARGS),
# never filtered from its argv, where abbreviations (--tag, --start-at) and clusters (-tTAG, -vC) hide: the
# inventory, extra vars, connection and privilege options, as (CLIARGS key, long option). Left out on purpose:
# the playbooks, --check, --tags, --skip-tags, --start-at-task, --step (each would fake or skip the cancel),
# the vault options (the run's secrets are handed over instead), and -k/-K (nobody is there to answer).
CARRIED_OPTIONS = (
    ('inventory', '--inventory'), ('extra_vars', '--extra-vars'), ('subset', '--limit'),
    ('remote_user', '--user'), ('private_key_file', '--private-key'), ('connection', '--connection'),
    ('timeout', '--timeout'), ('ssh_common_args', '--ssh-common-args'), ('sftp_extra_args', '--sftp-extra-args'),
    ('scp_extra_args', '--scp-extra-args'), ('ssh_extra_args', '--ssh-extra-args'),
    ('connection_password_file', '--connection-password-file'), ('become', '--become'),
    ('become_method', '--become-method'), ('become_user', '--become-user'),
    ('become_password_file', '--become-password-file'), ('forks', '--forks'), ('module_path', '--module-path'),
)


def cancel_command(cliargs, playbook_cli, held, vault_ids=(), executable=sys.executable):
    """The ansible-playbook command that cancels on the hosts in `held` ({host: lock args}): the interrupted
    run's inventory, extra vars and connection options from its parsed arguments, `vault_ids` (['id@file'])
    for its vault secrets, and the cancel play in place of its playbooks. Pure."""
    cmd = [executable, os.path.abspath(playbook_cli)]
    for key, option in CARRIED_OPTIONS:
        value = cliargs.get(key)
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        for one in values:
            if one is True:
                cmd.append(option)
            elif one not in (None, False, ''):
                cmd.append('%s=%s' % (option, one))  # '=' keeps a value such as '-o X' from reading as an option
    if cliargs.get('verbosity'):
        cmd.append('-' + 'v' * int(cliargs['verbosity']))
    cmd += ['--vault-id=%s' % v for v in vault_ids]
    extra = {'_cutover_cancel': held, 'cutover_hosts': ','.join(sorted(held))}
    return cmd + ['--extra-vars=%s' % json.dumps(extra, sort_keys=True), CANCEL_PLAYBOOK]


# how the run reached and became root on the host, when set beside the playbook rather than in the inventory
CONNECTION_VARS = frozenset((
    'ansible_host', 'ansible_port', 'ansible_user', 'ansible_connection', 'ansible_password',
    'ansible_ssh_private_key_file', 'ansible_private_key_file', 'ansible_ssh_common_args', 'ansible_ssh_extra_args',
    'ansible_python_interpreter', 'ansible_become', 'ansible_become_user', 'ansible_become_method',
    'ansible_become_password'))


def cutover_settings(variables, template):
    """The cutover_* settings and the connection variables among a host's variables, each templated by
    template(value); a value that does not template here (it names a result the run registered later, say) is
    left out, and the cancel play resolves it as any run would. Pure given template()."""
    settings = {}
    for name in sorted(variables):
        if name.startswith('cutover_') or name in CONNECTION_VARS:
            try:
                settings[name] = plain(template(variables[name]))
            except Exception:  # pylint: disable=broad-except; any templating error: leave that one setting out
                continue
    return settings


def plain(value):
    """JSON-ready copy of a templated value (ansible's tagged and vaulted strings become plain str)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def write_private_json(path, data):
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as f:
        json.dump(data, f, sort_keys=True)


def write_vault_ids(secrets, folder):
    """Each (vault id, secret) of the interrupted run in a 0600 file of `folder`, as ['id@file'] for --vault-id:
    the cancel play then decrypts what the run decrypted, however its password was given (prompt, file,
    script), with nobody asked again."""
    ids = []
    for number, (vault_id, secret) in enumerate(secrets):
        path = os.path.join(folder, 'vault-%d' % number)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'wb') as f:
            f.write(secret.bytes)
        ids.append('%s@%s' % (vault_id or 'default', path))
    return ids


def lock_args(result):
    """(state, service, run_id, state_dir) of a task result that takes or releases the deploy lock
    (deploy_lock; prepare, which takes it; reap with unlock, which releases it), or None for any other."""
    action = (getattr(result._task, 'resolved_action', None) or result._task.action).replace('cutover.deploy.', '')
    args = result._result.get('invocation', {}).get('module_args') or {}
    if action == 'prepare' and (args.get('lock') or {}).get('run_id') and args.get('service'):
        return 'acquired', args['service'], args['lock']['run_id'], args.get('state_dir')
    if action == 'reap' and result._result.get('unlocked') and args.get('lease'):
        lease = args['lease']
        return 'released', lease['service'], lease['run_id'], lease['state_dir']
    if action != 'deploy_lock' or not args.get('run_id') or not args.get('service'):
        return None
    return args.get('state', 'acquired'), args['service'], args['run_id'], args.get('state_dir')


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'cutover.deploy.cancel'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.held = {}  # host -> the deploy lock this run holds there
        self.loader = None  # the run's data loader, set when the playbook starts
        self.play = None  # the play that runs, whose variables the cancel play takes over
        self.interrupted = None
        self._interrupt_raised = False
        self._take_over_signals()
        atexit.register(self.cancel_if_interrupted)

    def _take_over_signals(self):
        # ansible-playbook's own handler (installed before callbacks load) forwards a signal to its workers,
        # then unwinds on SIGINT but re-raises SIGTERM with the default action, which ends the process on
        # the spot. Both go the SIGINT way here, so the exit hook below runs.
        ansible_handler = signal.getsignal(signal.SIGINT)
        if not callable(ansible_handler):
            return

        def on_signal(signum, frame):
            self.interrupted = signal.Signals(signum).name
            ansible_handler(signal.SIGINT, frame)

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

    def stop_if_interrupted(self):
        """Raise the interrupt once more at the next task or result. The KeyboardInterrupt that ansible's handler
        raises is lost when the signal lands inside a finalizer or an at-fork hook (Python prints 'Exception
        ignored in ...' and goes on), and the run would then finish the deploy the user stopped."""
        if self.interrupted and not self._interrupt_raised:
            self._interrupt_raised = True
            raise KeyboardInterrupt()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.stop_if_interrupted()

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self.stop_if_interrupted()

    def v2_runner_on_skipped(self, result):
        self.stop_if_interrupted()

    def v2_runner_on_unreachable(self, result):
        self.stop_if_interrupted()

    def v2_runner_on_ok(self, result):
        self.record_lock(result)
        self.stop_if_interrupted()

    def record_lock(self, result):
        lock = lock_args(result)
        if lock is None or context.CLIARGS.get('check'):
            return
        state, service, run_id, state_dir = lock
        host = result._host.get_name()
        holder = ((result._result.get('holder') or {}).get('run_id')
                  if result._result.get('locked', True) else None)  # prepare reports a lock held by another run
        if state == 'released':
            self.held.pop(host, None)
        elif holder == run_id:  # status only reports when another run holds the lock
            self.held[host] = dict(service=service, run_id=run_id, state_dir=state_dir)

    def v2_playbook_on_start(self, playbook):
        self.loader = playbook._loader  # pylint: disable=protected-access; its vault secrets, for the cancel play

    def v2_playbook_on_play_start(self, play):
        self.play = play

    def hand_over_settings(self, folder):
        """Each held host's cutover_* settings and connection variables as this run resolved them, in a 0600 file
        of folder, named in
        the host's entry of the cancel play's _cutover_cancel. A host whose variables cannot be read here keeps
        none, and the cancel play resolves them from the inventory and extra vars."""
        from ansible.template import Templar  # pylint: disable=import-outside-toplevel; only when cancelling
        held = {}
        manager = getattr(self.play, '_variable_manager', None)
        for number, (host, lock) in enumerate(sorted(self.held.items())):
            held[host] = dict(lock)
            try:
                variables = manager.get_vars(play=self.play, host=manager._inventory.get_host(host))  # pylint: disable=protected-access
                settings = cutover_settings(variables, Templar(loader=self.loader, variables=variables).template)
            except Exception as exc:  # pylint: disable=broad-except; the cancel must run even so
                self._display.warning('Cutover: could not read the settings of %s for the cancel play (%s); it uses '
                                      'the inventory and extra vars' % (host, type(exc).__name__))
                continue
            path = os.path.join(folder, 'settings-%d.json' % number)
            write_private_json(path, settings)
            held[host]['settings'] = path
        return held

    def cancel_if_interrupted(self):
        if not self.interrupted or not self.held:
            return
        # a second Ctrl-C, or the SIGTERM that follows a first one, must not kill the cancel half-way
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self._display.display('Cutover: %s received; cancelling the run on %s (removing the new container, keeping '
                              'the live release routed, recording the release as cancelled; further signals are '
                              'ignored until it ends, at most %d s)'
                              % (self.interrupted, ', '.join(sorted(self.held)), CANCEL_TIMEOUT), stderr=True)
        if context.CLIARGS.get('ask_pass') or context.CLIARGS.get('become_ask_pass'):
            self._display.warning('Cutover: the cancel play cannot ask for the connection or become password '
                                  '(-k, -K); use a password file or a key so that it can connect')
        folder = tempfile.mkdtemp(prefix='cutover-cancel-')
        try:
            vault = getattr(self.loader, '_vault', None)
            cmd = cancel_command(context.CLIARGS, sys.argv[0], self.hand_over_settings(folder),
                                 write_vault_ids(getattr(vault, 'secrets', None) or (), folder))
            rc = self.run_cancel_play(cmd)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if rc != 0:
            self._display.warning('Cutover: the cancel play did not finish (%s); the next run of the service repairs '
                                  'what is left' % rc)

    def run_cancel_play(self, cmd):
        """Its exit code (or why it could not run); its output is relayed through this run's display. It runs
        in a session of its own, so the terminal's next Ctrl-C does not reach it."""
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, errors='replace', start_new_session=True)
        except OSError as exc:
            return exc
        timer = threading.Timer(CANCEL_TIMEOUT, proc.kill)  # bounded: a hung host cannot hold the exit forever
        timer.start()
        try:
            for line in proc.stdout:
                self._display.display(line.rstrip('\n'))
            return proc.wait()
        finally:
            timer.cancel()
