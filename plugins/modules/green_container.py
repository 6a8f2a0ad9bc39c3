#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: green_container
short_description: Start a service's new container beside the live one
version_added: 0.1.0
description:
  - Starts the new ("green") container of a service next to the one serving now, under a unique
    name (service name + C(-) + millisecond-hex suffix) and on its own loopback port, so both run
    at once. It never stops or removes the live container.
  - Labels record the service, release, strategy, image and container port, which is how
    M(cutover.deploy.reap) and M(cutover.deploy.health_gate) find it again.
  - Idempotent by release. When a container of the same release already runs, it is returned
    unchanged; when one exists stopped (a release kept for rollback), it is started again instead
    of creating a new one.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.release_record
  - cutover.deploy.lease
  - cutover.deploy.engine
  - cutover.deploy.pull
  - cutover.deploy.pull.registry
  - cutover.deploy.release_command
options:
  service:
    description: Service name; lowercase letters, digits, C(-) and C(_), at most 50 characters.
    type: str
    required: true
  image:
    description: Image reference to run.
    type: str
    required: true
  container_port:
    description: The port the app listens on inside the container.
    type: int
    required: true
  host_port:
    description:
      - Host port to publish O(container_port) on.
      - C(0) picks a free port when the container is created and pins it in the container's port
        bindings, so the engine publishes the same port after every restart (a crash under the restart
        policy, a daemon restart, a reboot) and the proxy route keeps pointing at the container.
    type: int
    default: 0
  replicas:
    description:
      - How many containers the release runs on the host, each on its own pinned port. They are one release, with
        the same labels, started together, and returned as one container whose name and upstream are the replicas'
        joined by commas (sorted), which is how the other steps take them.
      - Above 1 the count is part of the release (another count is another release).
    type: int
    default: 1
    version_added: 1.0.0
  count:
    description:
      - How many of the O(replicas) to have running after this step (the rolling strategy's batches); the others
        are started by a later call with a higher count. Defaults to all of them.
    type: int
    version_added: 1.0.0
  bind_address:
    description:
      - Host address the port is published on. Loopback keeps the app reachable only through the
        proxy on the same host.
    type: str
    default: 127.0.0.1
  release:
    description:
      - Release identifier recorded on the container.
      - Defaults to a digest of the image id and the container's configuration (secret variables by
        name only, never by value), so running the same input twice is the same release.
      - Whatever the release, a container is reused only when its image and settings match (see O(restore)).
    type: str
  strategy:
    description: Strategy recorded on the container's labels.
    type: str
    default: blue-green
    choices: [blue-green, recreate]
  command:
    description: Command to run instead of the image's default; a list (exec form) or a string.
    type: raw
  env:
    description:
      - Environment variables whose values are secret. Their values never reach logs, results or diffs.
      - Ansible masks a secret value wherever it appears in the task's output, so a short value such as
        C(1) would also be masked inside container names and ports. Put values that are not secret in
        O(public_env).
    type: dict
    default: {}
  public_env:
    description: Environment variables that are not secret (ports, worker counts, feature flags).
    type: dict
    default: {}
  env_file:
    description:
      - Path on the managed host of a file of C(KEY=VALUE) lines, merged under O(public_env) and O(env).
        Its values are passed to the container and never returned.
    type: path
  volumes:
    description: Bind mounts and named volumes as C(source:target[:ro|rw]).
    type: list
    elements: str
    default: []
  networks:
    description: Networks to attach the container to (the first replaces the default network).
    type: list
    elements: str
    default: []
  restart_policy:
    description: Engine restart policy.
    type: str
    default: unless-stopped
    choices: ['no', on-failure, always, unless-stopped]
  memory:
    description: Memory limit, for example C(256m) or C(1g).
    type: str
  cpus:
    description: CPU limit as a number of CPUs, for example C(0.5).
    type: float
  labels:
    description: Extra labels. Cutover's own C(io.cutover.*) labels cannot be overridden.
    type: dict
    default: {}
  healthcheck:
    description: Engine HEALTHCHECK for the container (see M(cutover.deploy.health_gate) C(probe=healthcheck)).
    type: dict
    suboptions:
      test:
        description: Command, as a list such as C(["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/health"]).
        type: list
        elements: str
        required: true
      interval:
        description: Seconds between checks.
        type: int
        default: 5
      timeout:
        description: Seconds one check may take.
        type: int
        default: 3
      retries:
        description: Consecutive failures before unhealthy.
        type: int
        default: 3
      start_period:
        description: Seconds of grace after start.
        type: int
        default: 0
  stop_timeout:
    description: Seconds the engine waits after SIGTERM before SIGKILL when this container is stopped.
    type: int
    default: 10
  restore:
    description:
      - Reuse a kept container of O(release) as it was, whatever the other settings given now (a
        rollback). Without it, a container is reused only when the image and every setting match,
        secret values included, so a changed setting under an explicit O(release) is deployed, not skipped.
    type: bool
    default: false
  state_dir:
    description:
      - Folder of the host's Cutover state files. Read to tell the live container and the standby from the
        rest, to wait for a container being retired (see M(cutover.deploy.reap)) before it is started again
        (one retired to be removed is never started again; a new one is created), and written by O(record).
    type: path
    default: /var/lib/cutover
attributes:
  check_mode:
    support: full
    description: Returns the container it would start, with no id and no upstream.
  diff_mode:
    support: full
    description: Shows the container before (none, or the stopped one) and after.
  idempotent:
    support: full
    description: The same release already running is returned with C(changed=false).
'''

EXAMPLES = r'''
- name: Start green beside the live container
  cutover.deploy.green_container:
    service: web
    image: registry.example.com/web:2.4.1
    container_port: 8080
    env:
      DATABASE_URL: "{{ vault_database_url }}"
    public_env:
      WORKERS: "2"
    memory: 256m
  register: green

- name: The same through Podman's API socket
  cutover.deploy.green_container:
    engine_host: unix:///run/podman/podman.sock
    service: web
    image: localhost/web:2.4.1
    container_port: 8080
'''

RETURN = r'''
container:
  description: The green container.
  returned: success
  type: dict
  contains:
    name:
      description: Container name.
      type: str
      sample: web-19a4c3b2f01
    id:
      description: Container id (null in check mode when it would be created).
      type: str
    release:
      description: Release recorded on the container.
      type: str
    status:
      description: Engine status.
      type: str
      sample: running
upstream:
  description: Where the proxy should send traffic, C(address:port); null in check mode.
  returned: success
  type: str
  sample: 127.0.0.1:32768
image_id:
  description: Id of the image the container runs.
  returned: success
  type: str
release:
  description: The release (given or derived).
  returned: success
  type: str
elapsed:
  description: Seconds this step took (pull, create and start); the metrics file's C(start) step.
  returned: success
  type: float
  version_added: 1.0.0
actions:
  description: What the module did (or would do in check mode).
  returned: success
  type: list
  elements: str
containers:
  description: Each container of the release (one per replica), as RV(container) describes one.
  returned: success
  type: list
  elements: dict
  version_added: 1.0.0
already_live:
  description: Whether the container is the one the state file marks live (nothing to cut over).
  returned: success
  type: bool
standby:
  description: Whether the container is the running standby (see M(cutover.deploy.reap) O(cutover.deploy.reap#module:standby)), reused as it runs.
  returned: success
  type: bool
number:
  description: The release number O(record) began (null when nothing was recorded).
  returned: success
  type: int
release_command:
  description:
    - What the release command did (null when it did not run). On failure the module fails with the same
      dict and RV(number), the release it recorded as C(failed).
  returned: success
  type: dict
  version_added: 1.0.0
  contains:
    exit_code:
      description: The command's exit code.
      type: int
    timed_out:
      description: Whether it ran past its timeout and was killed.
      type: bool
    seconds:
      description: How long it ran.
      type: float
    logs:
      description: Its last 20 log lines, secret values masked.
      type: list
      elements: str
    container:
      description: The one-off container's name (removed).
      type: str
'''

import hashlib
import json
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._engine import (
    Engine, describe, engine_argument_spec, free_port, is_running, secret_env,
)
from ansible_collections.cutover.deploy.plugins.module_utils._module import (
    lease_option, renew_lease, require_finite_numbers, require_valid_service,
)
from ansible_collections.cutover.deploy.plugins.module_utils._retire import removing_names, retiring, retiring_names, with_retiring
from ansible_collections.cutover.deploy.plugins.module_utils._state import (
    DEFAULT_STATE_DIR, active_standby, begin_release, finish_release, live_container,
    load_state, recorded_entry, release_record_option, save_state,
)
from ansible_collections.cutover.deploy.plugins.module_utils._time import iso_now
from ansible_collections.cutover.deploy.plugins.module_utils._naming import (
    container_labels, green_name, joined, members,
)
from ansible_collections.cutover.deploy.plugins.module_utils._registry import pull_argument_spec, registry_errors
from ansible_collections.cutover.deploy.plugins.module_utils._release_command import (
    release_command_option, run_release_command, verdict,
)
from ansible_collections.cutover.deploy.plugins.module_utils._checks import (
    env_error, host_error, labels_error, release_command_error, release_error, volume_error,
)


def parse_env_file(text, path):
    """KEY=VALUE lines; blank lines and # comments skipped."""
    env = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        if '=' not in line:
            raise ValueError('env_file %s line %d is not KEY=VALUE' % (path, lineno))
        key, value = line.split('=', 1)
        env[key.strip()] = value
    return env


def config_digest(image_id, spec):
    """Digest of the image and everything that shapes the container. The spec carries the secret
    variables' names only, so the digest (printed as the release id) reveals nothing about their
    values; a changed secret value is found by comparing with the container's own environment."""
    blob = json.dumps(dict(image_id=image_id, spec=spec), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def run_spec(p, public_env, secret_names):
    """The container settings that define a release (besides the image). The replica count is one of them when
    above 1 (so a release of one container keeps the digest it had before replicas existed)."""
    spec = dict(command=p['command'], env=public_env, secret_env_names=sorted(secret_names),
                volumes=p['volumes'], networks=p['networks'],
                restart_policy=p['restart_policy'], memory=p['memory'], cpus=p['cpus'],
                labels=p['labels'], healthcheck=p['healthcheck'], stop_timeout=p['stop_timeout'],
                container_port=p['container_port'], host_port=p['host_port'],
                bind_address=p['bind_address'])
    if p['replicas'] > 1:
        spec['replicas'] = p['replicas']
    return spec


MAX_REPLICAS = 32


PORT_TAKEN = ('port is already allocated', 'address already in use')


def create_and_start(engine, p, name, env, labels, attempts=5):
    """Create and start the container on a pinned host port; another port if that one was taken
    between our pick and the engine's bind."""
    for attempt in range(1, attempts + 1):
        host_port = p['host_port'] or free_port(p['bind_address'])
        container = engine.call('creating container %s' % name, create_container, engine, p, name, env, labels, host_port)
        for net in p['networks'][1:]:
            engine.call('connecting %s to network %s' % (name, net),
                        engine.client.networks.get(net).connect, container)
        try:
            container.start()
            return container
        except engine.errors.DockerException as exc:
            taken = any(t in str(exc).lower() for t in PORT_TAKEN)
            if not taken or p['host_port'] or attempt == attempts:
                engine.fail('starting container %s' % name, exc)
            engine.call('removing container %s (its port was taken)' % name, container.remove, force=True)
    return None  # not reached: the last attempt fails the module


def create_container(engine, p, name, env, labels, host_port):
    """Create (not start) the container through the low-level API, which knows stop_timeout."""
    api = engine.client.api
    restart = {'Name': p['restart_policy']} if p['restart_policy'] != 'no' else None
    host_config = api.create_host_config(
        port_bindings={p['container_port']: (p['bind_address'], host_port)},
        binds=p['volumes'] or None, restart_policy=restart, mem_limit=p['memory'],
        nano_cpus=int(p['cpus'] * 1e9) if p['cpus'] else None,
        network_mode=p['networks'][0] if p['networks'] else None)
    healthcheck = None
    if p['healthcheck']:
        hc, sec = p['healthcheck'], 1000000000
        healthcheck = dict(test=hc['test'], interval=hc['interval'] * sec, timeout=hc['timeout'] * sec,
                           retries=hc['retries'], start_period=hc['start_period'] * sec)
    created = api.create_container(
        p['image'], command=p['command'], name=name, environment=env, labels=labels,
        ports=[p['container_port']], host_config=host_config, healthcheck=healthcheck,
        stop_timeout=p['stop_timeout'])
    return engine.client.containers.get(created['Id'])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine_argument_spec(),
            lease=lease_option(),
            service=dict(type='str', required=True),
            image=dict(type='str', required=True),
            container_port=dict(type='int', required=True),
            host_port=dict(type='int', default=0),
            bind_address=dict(type='str', default='127.0.0.1'),
            release=dict(type='str'),
            strategy=dict(type='str', default='blue-green', choices=['blue-green', 'recreate']),
            command=dict(type='raw'),
            env=dict(type='dict', default={}, no_log=True),
            public_env=dict(type='dict', default={}),
            env_file=dict(type='path'),
            volumes=dict(type='list', elements='str', default=[]),
            networks=dict(type='list', elements='str', default=[]),
            restart_policy=dict(type='str', default='unless-stopped',
                                choices=['no', 'on-failure', 'always', 'unless-stopped']),
            memory=dict(type='str'),
            cpus=dict(type='float'),
            labels=dict(type='dict', default={}),
            healthcheck=dict(type='dict', options=dict(
                test=dict(type='list', elements='str', required=True),
                interval=dict(type='int', default=5),
                timeout=dict(type='int', default=3),
                retries=dict(type='int', default=3),
                start_period=dict(type='int', default=0),
            )),
            stop_timeout=dict(type='int', default=10),
            restore=dict(type='bool', default=False),
            state_dir=dict(type='path', default=DEFAULT_STATE_DIR),
            record=release_record_option(),
            release_command=release_command_option(),
            replicas=dict(type='int', default=1),
            count=dict(type='int'),
            **pull_argument_spec()
        ),
        supports_check_mode=True,
    )
    started = time.monotonic()
    p = module.params
    require_finite_numbers(module)
    require_valid_service(module)
    lease = renew_lease(module)
    if not p['image'].strip():
        module.fail_json(msg='image must be an image reference, got an empty string')
    if not 1 <= p['replicas'] <= MAX_REPLICAS:
        module.fail_json(msg='replicas must be between 1 and %d, got %d' % (MAX_REPLICAS, p['replicas']))
    if p['count'] is not None and not 1 <= p['count'] <= p['replicas']:
        module.fail_json(msg='count must be between 1 and replicas (%d), got %d' % (p['replicas'], p['count']))
    if p['replicas'] > 1 and p['host_port']:
        module.fail_json(msg='host_port pins one port; with replicas %d each replica takes its own: leave host_port 0'
                         % p['replicas'])
    for field in ('container_port', 'host_port'):
        low = 1 if field == 'container_port' else 0
        if not low <= p[field] <= 65535:
            module.fail_json(msg='%s must be between %d and 65535, got %d' % (field, low, p[field]))
    if p['command'] is not None and not isinstance(p['command'], (str, list)):
        module.fail_json(msg='command must be a string or a list of strings')
    errors = [volume_error('volumes', v) for v in p['volumes']] + [
        env_error('env', p['env'], secret=True), env_error('public_env', p['public_env']),
        labels_error('labels', p['labels']), release_error('release', p['release']),
        host_error(p['bind_address']) and 'bind_address %r is not an IP address or DNS name' % p['bind_address'],
        p['release_command'] and release_command_error('release_command.command', p['release_command']['command'])]
    errors = [e for e in errors if e] + registry_errors(p['registry'], p['image'])
    if errors:
        module.fail_json(msg='; '.join(errors))

    secret = {}  # env_file values count as secret: they are usually kept out of the playbook for that reason
    if p['env_file']:
        try:
            with open(p['env_file']) as f:
                secret = parse_env_file(f.read(), p['env_file'])
        except (OSError, ValueError) as exc:
            module.fail_json(msg='env_file: %s' % exc)
    # precedence: env_file < public_env < env
    public = {str(k): str(v) for k, v in p['public_env'].items()}
    secret = {k: v for k, v in secret.items() if k not in public}
    secret.update({str(k): str(v) for k, v in p['env'].items()})
    public = {k: v for k, v in public.items() if k not in secret}
    env = dict(public, **secret)

    engine = Engine(module)
    actions = engine.prepare_registry(p['image'], p['registry'], module.check_mode)
    with lease.held_while('the pull of %s' % p['image']):  # check mode never pulls
        image, pulled = engine.image_for(p['image'], p['pull'], module.check_mode, p['registry'])
    if pulled:
        actions.append('pull %s' % p['image'])
    image_id = image.id if image is not None else None

    config = config_digest(image_id, run_spec(p, public, secret)) if image_id else 'pending-pull'
    release = p['release'] or config

    def reusable(c):
        """A container of this release with these settings (a restore takes the release as it was)."""
        info = describe(c)
        if info['release'] != release:
            return False
        return p['restore'] or (info['config'] == config and secret_env(c.attrs) == secret)
    state = load_state(module)
    live, standby = live_container(state), active_standby(state, time.time())
    leaving, removing = retiring_names(state), removing_names(state)
    # this release's containers, the live (or standby) set's first: running ones are reused, stopped ones (kept
    # for rollback, or being retired) started again, and what is still missing of the replicas created. One a
    # helper is removing is never started again (the engine refuses, or it is gone under us): a new one is made
    existing = sorted((c for c in engine.service_containers(p['service']) if reusable(c) and c.name not in removing),
                      key=lambda c: (c.name not in members(live), c.name not in members(standby), c.name))
    up = [c for c in existing if describe(c)['running'] and c.name not in leaving]
    # a release whose every replica runs and is live is live, whatever part of it a rolling batch asks for
    wanted = p['replicas'] if joined(c.name for c in up[:p['replicas']]) == live else (p['count'] or p['replicas'])
    running = up[:wanted]
    stopped = [c for c in existing if c not in running][:wanted - len(running)]
    result = dict(changed=False, release=release, actions=actions, already_live=False, standby=False, number=None,
                  release_command=None)

    def release_command_first():
        """Before a release's container starts (not a rollback's): its release command, to completion."""
        if p['release_command'] and not p['restore']:
            actions.append('run the release command in a one-off container from %s' % p['image'])
            if not module.check_mode:
                result['release_command'] = run_release_command_or_fail(module, engine, lease, state, env, secret,
                                                                        image_id, release)

    before = [describe(c) for c in running]
    infos = list(before)
    if len(running) < wanted:
        release_command_first()
    for target in stopped:
        state = wait_retired(module, engine, state, target)
        was = describe(target)
        if was['image_id'] != image_id and p['release'] and image_id:
            module.fail_json(msg='release %s already exists with image %s, not %s; give a new release'
                             % (release, was['image'], p['image']))
        actions.append('start %s' % was['name'])
        if not module.check_mode:
            engine.call('starting container %s' % was['name'], target.start)
            target.reload()
        before.append(was)
        infos.append(describe(target) if not module.check_mode else dict(was, status='running', running=True))
    taken = [describe(c)['name'] for c in engine.service_containers(p['service'])] if len(infos) < wanted else []
    labels = container_labels(p['service'], release, p['strategy'], p['image'], p['container_port'], p['labels'],
                              config=config, secret_names=secret)
    while len(infos) < wanted:
        name = green_name(p['service'], time.time() * 1000, taken)
        taken.append(name)
        actions.append('create %s from %s' % (name, p['image']))
        if module.check_mode:
            info = dict(name=name, id=None, image=p['image'], image_id=image_id, release=release, status='created',
                        running=False, upstream=None)
        else:
            container = create_and_start(engine, p, name, env, labels)
            container.reload()
            info = describe(container)
            if not info['upstream']:
                module.fail_json(msg='container %s started but publishes no port for %d/tcp' % (name, p['container_port']),
                                 container=info)
        infos.append(info)
    info = replica_set(infos)
    if len(running) == wanted:
        result.update(already_live=info['name'] == live, standby=info['name'] == standby)
    else:
        result.update(changed=True, diff=dict(before=replica_set(before) if before else {}, after=info))
    if p['record'] and not result['already_live']:
        result['number'] = record_release(module, state, info, image_id, release)
    module.exit_json(elapsed=round(time.monotonic() - started, 3), container=info, upstream=info['upstream'],
                     image_id=info['image_id'], containers=sorted(infos, key=lambda i: i['name']), **result)


def replica_set(infos):
    """One container's facts, or a replica set's as one: names and upstreams joined by commas (sorted), running when
    every replica runs. Pure."""
    if len(infos) == 1:
        return infos[0]
    infos = sorted(infos, key=lambda i: i['name'])
    upstreams = [i['upstream'] for i in infos]
    return dict(infos[0], name=joined(i['name'] for i in infos), id=','.join(str(i['id']) for i in infos),
                status=','.join(sorted(set(i['status'] for i in infos))), running=all(i['running'] for i in infos),
                upstream=joined(upstreams) if all(upstreams) else None)


def wait_retired(module, engine, state, container, poll=0.2):
    """A container being retired (its graceful stop handed to a helper) that a rollback needs back: wait for
    the stop, kill it past its deadline, and drop its entry. Returns the state (written)."""
    entry = next((e for e in retiring(state) if e['container'] == container.name), None)
    if entry is None or module.check_mode:
        return state
    while is_running(container.attrs.get('State')) and time.time() < entry['deadline']:  # Podman's `stopping` too
        time.sleep(poll)
        engine.call('inspecting %s' % container.name, container.reload)
    if is_running(container.attrs.get('State')):
        engine.call('killing the retiring container %s' % container.name, container.stop, timeout=0)
        container.reload()
    state = with_retiring(state, [e for e in retiring(state) if e is not entry])
    save_state(module, state)
    return state


def record_release(module, state, info, image_id, release, failed=None):
    """Begin the release in the history (outcome running); its number. failed: (reason, what the release command
    did), to record it failed at once. Check mode writes nothing."""
    p, rec = module.params, module.params['record']
    entry = recorded_entry(rec, p['image'], p['strategy'], dict(info, image_id=info['image_id'] or image_id), release,
                           p['container_port'], iso_now())
    if failed:
        entry['release_command'] = failed[1]
    after, number = begin_release(state, entry, rec['history_limit'])
    if failed:
        after = finish_release(after, number, 'failed', iso_now(), failed[0])
    save_state(module, after)
    return number


def run_release_command_or_fail(module, engine, lease, state, env, secret, image_id, release):
    """Run the release command; what it did, or fail the module (recording the release failed, with record)."""
    p = module.params
    outcome = run_release_command(module, engine, lease, dict(
        service=p['service'], image=image_id or p['image'], command=p['release_command']['command'],
        timeout=p['release_command']['timeout'], env=env, secret=secret, volumes=p['volumes'], networks=p['networks']))
    passed, message = verdict(outcome)
    if passed:
        return outcome
    number = None
    if p['record']:
        number = record_release(module, state, dict(name=None, image_id=image_id, upstream=None), image_id, release,
                                failed=(message, dict(exit_code=outcome['exit_code'], timed_out=outcome['timed_out'],
                                                      logs=outcome['logs'])))
    module.fail_json(msg='%s. Nothing else changed: the release\'s container was not started, and what was live '
                         'serves on.' % message, release_command=outcome, number=number)


if __name__ == '__main__':
    main()
