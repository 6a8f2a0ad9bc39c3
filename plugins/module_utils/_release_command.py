# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release command: a one-off container from the new image (a database migration, say), run to completion
under the deploy lock before the release's container starts. Its exit decides whether the release goes on.

The container gets the service's environment, volumes and networks, a label naming the service it belongs to
(never the service label itself: no other step may take it for a release), and is always removed. The
decisions are pure functions; run_release_command() is the thin I/O edge over the engine.
"""

from __future__ import annotations

import time

from ansible_collections.cutover.deploy.plugins.module_utils._engine import mask_secrets
from ansible_collections.cutover.deploy.plugins.module_utils._lock import run_gone
from ansible_collections.cutover.deploy.plugins.module_utils._naming import LABEL_MANAGED, LABEL_SECRET_ENV, LABEL_PREFIX

LABEL_RELEASE_COMMAND = LABEL_PREFIX + 'release-command-of'  # the service whose release command it runs
DEFAULT_TIMEOUT = 600
LOG_LINES = 20


def release_command_option():
    """The argument spec of the `release_command` option (green_container, release action=begin)."""
    return dict(type='dict', options=dict(
        command=dict(type='raw', required=True),
        timeout=dict(type='float', default=DEFAULT_TIMEOUT),
    ))


def command_argv(command):
    """The container's command: a string runs through sh -c (so it may use && and variables), a list as given. Pure."""
    return ['sh', '-c', command] if isinstance(command, str) else list(command)


def container_name(service, now_ms):
    """The one-off container's name: the service's, then `-release-` and a millisecond-hex suffix. Pure."""
    return '%s-release-%x' % (service, int(now_ms))


def command_labels(service, secret_names):
    """Labels of the one-off container: managed by Cutover, whose release command, which variables are secret. Pure."""
    return {LABEL_MANAGED: 'true', LABEL_RELEASE_COMMAND: service, LABEL_SECRET_ENV: ','.join(sorted(secret_names))}


def last_lines(text, secrets, lines=LOG_LINES):
    """The output's last lines with every secret value masked. Pure."""
    return mask_secrets(text, secrets).splitlines()[-lines:]


def verdict(outcome):
    """(passed, message) for what run_release_command() returned. Pure."""
    if outcome['exit_code'] == 0 and not outcome['timed_out']:
        return True, 'release command succeeded in %.1f s' % outcome['seconds']
    if outcome['timed_out']:
        why = 'release command ran past its timeout of %g s and was killed' % outcome['timeout']
    elif outcome.get('stopped'):
        why = 'release command was stopped: %s' % outcome['stopped']
    else:
        why = 'release command exited %s after %.1f s' % (outcome['exit_code'], outcome['seconds'])
    tail = outcome['logs'][-5:]
    return False, why + ('; last lines: ' + ' | '.join(tail) if tail else '; it printed nothing')


def remove_leftovers(engine, service):
    """Remove the one-off containers an interrupted run left (under the lock none can be running for a live run).
    Returns their names."""
    found = engine.call('listing release command containers', engine.client.containers.list, all=True,
                        filters={'label': '%s=%s' % (LABEL_RELEASE_COMMAND, service)})
    names = []
    for container in found:
        engine.call('removing release command container %s' % container.name, container.remove, force=True)
        names.append(container.name)
    return names


def run_release_command(module, engine, lease, spec, poll=0.5):
    """Run the release command to completion and remove its container, whatever happens. spec: service, image,
    command, timeout, env (all of it), secret ({name: value}, masked in the logs), volumes, networks. Returns
    dict(exit_code, timed_out, stopped, seconds, timeout, logs, container, removed)."""
    api = engine.client.api
    removed = remove_leftovers(engine, spec['service'])
    name = container_name(spec['service'], time.time() * 1000)
    networks = spec.get('networks') or []
    host_config = api.create_host_config(binds=spec.get('volumes') or None, network_mode=networks[0] if networks else None)
    created = engine.call('creating the release command container %s' % name, api.create_container, spec['image'],
                          command=command_argv(spec['command']), name=name, environment=spec['env'],
                          labels=command_labels(spec['service'], spec['secret']), host_config=host_config)
    container = engine.client.containers.get(created['Id'])
    outcome = dict(exit_code=None, timed_out=False, stopped=None, seconds=0.0, timeout=spec['timeout'], logs=[],
                   container=name, removed=removed)
    started = time.monotonic()
    try:
        for net in networks[1:]:
            engine.call('connecting %s to network %s' % (name, net), engine.client.networks.get(net).connect, container)
        engine.call('starting the release command container %s' % name, container.start)
        deadline = started + spec['timeout']
        while True:
            engine.call('inspecting %s' % name, container.reload)
            if container.status not in ('created', 'running'):
                break
            if time.monotonic() >= deadline:
                outcome['timed_out'] = True
                break
            gone = run_gone(module.params.get('lease'))
            if gone:
                outcome['stopped'] = gone
                break
            lease.renew(every=10)
            time.sleep(poll)
        if outcome['timed_out'] or outcome['stopped']:
            engine.call('killing the release command container %s' % name, container.kill)
            engine.call('inspecting %s' % name, container.reload)
        outcome['exit_code'] = container.attrs.get('State', {}).get('ExitCode')
        outcome['seconds'] = round(time.monotonic() - started, 2)
        try:
            text = container.logs(stdout=True, stderr=True).decode('utf-8', 'replace')
        except engine.errors.DockerException as exc:
            text = '(logs unavailable: %s)' % exc
        outcome['logs'] = last_lines(text, spec['secret'])
    finally:
        try:
            container.remove(force=True)
        except engine.errors.DockerException as exc:  # reported; the next run's remove_leftovers takes it
            module.warn('could not remove the release command container %s: %s' % (name, exc))
    return outcome
