"""Run Ansible itself (ansible-playbook against localhost) from tests, and read its results.

A small in-repo stand-in for pytest-ansible (end of life December 2026): every module and role
under test runs through ansible-playbook with a recording callback, against the collection as
built and installed by scripts/install-collection.sh.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COLLECTIONS = REPO / '.cache' / 'collections'
CALLBACKS = REPO / 'tests' / 'callback_plugins'
# Requests per second per worker of a test's load (bench.loadgen.Load rate): a steady load that any dropped
# request shows up in, not a saturating one. Unthrottled, the load's threads took a core from the deploy
# under test and from the other pytest worker; the benchmark (bench/) is where the load saturates.
TEST_RATE = 150

ENGINES = {
    'docker': dict(engine_host='unix:///var/run/docker.sock', image_prefix=''),
    'podman': dict(engine_host='unix:///run/podman/podman.sock', image_prefix='localhost/'),
}


def proxy_container_name(config_dir):
    """The name of the HAProxy container Cutover runs for config_dir (as _proxy/site.py names it)."""
    from ansible_collections.cutover.deploy.plugins.module_utils._proxy.site import DEFAULT_HAPROXY_DIR
    from ansible_collections.cutover.deploy.plugins.module_utils._proxy.systemd import unit_name
    return unit_name('haproxy', str(config_dir), DEFAULT_HAPROXY_DIR)


def remove_proxy_containers(config_dir):
    """Remove the HAProxy container Cutover runs for config_dir, on either engine of this machine, if any."""
    for cli in ('docker', 'podman'):
        subprocess.run([cli, 'rm', '-f', proxy_container_name(config_dir)], capture_output=True, check=False, timeout=60)


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str
    results: list = field(default_factory=list)

    def task(self, name):
        """The last recorded result of the task with this name (a role's task without its prefix)."""
        found = [r for r in self.results if r['status'] != 'start'
                 and (r['task'] == name or r['task'].endswith(' : ' + name))]
        if not found:
            raise AssertionError('task %r not in results; ran: %s\n%s' % (
                name, [r['task'] for r in self.results], self.stdout[-3000:]))
        return found[-1]

    @property
    def changed(self):
        return [r for r in self.results if r['status'] == 'ok' and r['result'].get('changed')]

    @property
    def failed(self):
        return [r for r in self.results if r['status'] == 'failed']


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS),
        ANSIBLE_CALLBACKS_ENABLED='cutover_record,cutover.deploy.cancel',  # cancel: as README asks users to
        ANSIBLE_HOST_KEY_CHECKING='False',
        ANSIBLE_RETRY_FILES_ENABLED='False',
        ANSIBLE_NOCOLOR='1',
        ANSIBLE_DEPRECATION_WARNINGS='False',
        ANSIBLE_LOCALHOST_WARNING='False',
        PATH='%s:%s' % (BIN, env.get('PATH', '')),
    )
    env.update(extra or {})
    return env


def playbook_command(playbook, extra_vars=None, check=False, diff=False, args=(), inventory=None, venv=None):
    """ansible-playbook against localhost (local connection), or against an inventory file; from
    another virtualenv (venv: an ansible-core version of the matrix) when given."""
    target = ['-i', str(inventory)] if inventory else ['-i', 'localhost,', '-c', 'local']
    bin_dir, python = (Path(venv) / 'bin', Path(venv) / 'bin' / 'python') if venv else (BIN, sys.executable)
    cmd = [str(bin_dir / 'ansible-playbook'), str(playbook)] + target + [
        '-e', 'ansible_python_interpreter=%s' % python]
    if extra_vars:
        cmd += ['-e', json.dumps(extra_vars)]
    if check:
        cmd.append('--check')
    if diff:
        cmd.append('--diff')
    return cmd + list(args)


def read_records(path):
    """The recorded results; a last line still being written (a run in progress) is left out."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # only the line being appended right now can be cut short
    return records


def run_playbook(playbook, extra_vars=None, check=False, diff=False, timeout=600, env=None, args=(), inventory=None,
                 venv=None):
    """Run a playbook (path, or a list of plays to write out) against localhost; return Run."""
    with tempfile.TemporaryDirectory(prefix='cutover-test-') as tmp:
        if not isinstance(playbook, (str, Path)):
            path = Path(tmp) / 'play.yml'
            path.write_text(json.dumps(playbook))
            playbook = path
        record = Path(tmp) / 'record.jsonl'
        record.touch()
        if venv:
            env = dict(env or {}, ANSIBLE_COLLECTIONS_PATH=str(Path(venv) / 'collections'),
                       PATH='%s:%s' % (Path(venv) / 'bin', os.environ.get('PATH', '')))
        proc = subprocess.run(playbook_command(playbook, extra_vars, check, diff, args, inventory, venv), check=False,
                              capture_output=True, text=True, timeout=timeout, cwd=str(REPO),
                              env=ansible_env(dict(env or {}, CUTOVER_RECORD=str(record))))
        results = read_records(record)
    return Run(proc.returncode, proc.stdout, proc.stderr, results)


# action plugins that run on the controller, not as a module on the host
CONTROLLER_ACTIONS = ('cutover.deploy.validate_inputs', 'cutover.deploy.validate_strategy', 'cutover.deploy.settings')


def host_module_runs(run):
    """Module runs on the host in a recorded run: Cutover's modules that ran (not skipped), less the
    controller-side checks. Each costs a Python start-up and an AnsiballZ payload on the host."""
    return sum(1 for r in run.results if r['status'] in ('ok', 'failed') and (r.get('action') or '').startswith('cutover.deploy.')
               and r['action'] not in CONTROLLER_ACTIONS)


def start_playbook(playbook, record, extra_vars=None, log=None, inventory=None, env=None):
    """Start a playbook in the background (its own process group, so a test can SIGKILL it)."""
    return subprocess.Popen(playbook_command(playbook, extra_vars, inventory=inventory), cwd=str(REPO),
                            start_new_session=True,
                            env=ansible_env(dict(env or {}, CUTOVER_RECORD=str(record))), stdout=log or subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)


def run_module(module, args, check=False, diff=False, timeout=300):
    """Run one cutover.deploy module as a task; return its result dict (with 'status' added)."""
    play = [dict(hosts='localhost', gather_facts=False,
                 tasks=[{'name': 'under test', 'cutover.deploy.%s' % module: args}])]
    run = run_playbook(play, check=check, diff=diff, timeout=timeout)
    rec = run.task('under test')
    return dict(rec['result'], status=rec['status'], _stdout=run.stdout)


def run_modules(calls, timeout=300):
    """Run several cutover.deploy modules, [(module, args)], as the tasks of one play, in order, each failure
    ignored; return their result dicts (with 'status' added). One ansible-playbook start for all of them,
    where the arguments of each are known before the first runs."""
    tasks = [{'name': 'under test %d' % n, 'cutover.deploy.%s' % module: args, 'ignore_errors': True}
             for n, (module, args) in enumerate(calls)]
    run = run_playbook([dict(hosts='localhost', gather_facts=False, tasks=tasks)], timeout=timeout)
    results = []
    for n in range(len(calls)):
        rec = run.task('under test %d' % n)
        results.append(dict(rec['result'], status=rec['status'], _stdout=run.stdout))
    return results


def awx_credential_extra_vars(credential_type_file, inputs):
    """The extra vars an AWX custom credential type injects for a credential with these inputs, rendered
    as AWX renders them: every string of the injector a sandboxed template over the credential's
    fields (a field not given renders empty, a boolean as True/False)."""
    import yaml
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    cred = yaml.safe_load(Path(credential_type_file).read_text())
    env = ImmutableSandboxedEnvironment()
    namespace = {f['id']: inputs.get(f['id'], f.get('default', '')) for f in cred['inputs']['fields']}

    def build(node):
        if isinstance(node, dict):
            return {k: build(v) for k, v in node.items()}
        return env.from_string(node).render(**namespace)
    return build(cred['injectors']['extra_vars'])


LOCALHOST_INVENTORY = {'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                                       'ansible_python_interpreter': sys.executable}}}}


def runner_job(tmp_path, playbook, extravars, name='job', **kwargs):
    """One job the way AWX runs it: through ansible-runner, with a private data dir of its own, against
    localhost unless an inventory is given. Returns the runner (its .status, .events, .stdout)."""
    import ansible_runner
    data = Path(tmp_path) / name
    data.mkdir()
    return ansible_runner.run(
        private_data_dir=str(data), playbook=str(playbook), inventory=kwargs.pop('inventory', LOCALHOST_INVENTORY),
        extravars=extravars, quiet=True, settings={'pexpect_timeout': 0.5},
        envvars={'ANSIBLE_COLLECTIONS_PATH': str(COLLECTIONS), 'PATH': '%s:/usr/sbin:/usr/bin:/sbin:/bin' % BIN,
                 'ANSIBLE_DEPRECATION_WARNINGS': 'False', 'ANSIBLE_LOCALHOST_WARNING': 'False'},
        **kwargs)
