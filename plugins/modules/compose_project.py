#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: compose_project
short_description: Bring a compose project up with the engine's compose tool, publishing the routed service
version_added: 1.0.0
description:
  - Runs O(files) as one compose project (O(project)) with C(docker-compose) (Docker) or C(podman-compose)
    (Podman), plus an override file of Cutover's own. The override publishes O(route_service)'s
    O(container_port) on O(publish_address) at a host port chosen once and kept for the service, and labels
    that one container as the service's, so status, reconcile and the route know it. The other services
    of the project are left to compose.
  - The project's release is a digest of the compose files, the override and O(env). When the routed
    container runs with that release, nothing is done (C(changed=false)). Otherwise the whole project is
    recreated (C(up -d --force-recreate --remove-orphans)), which stops the old containers before the new
    ones start. It is a recreate, so the service has no ready container until the new one passes its gate.
  - With O(strategy=blue-green) (C(docker-compose) only), the routed service gets a new container beside
    the live one instead. C(up -d --no-deps --no-recreate --scale) adds one container of O(route_service)
    with the new configuration, published on a port the engine picks, on the project's network under the
    service's name. The other services are brought up with C(up -d --no-deps), so compose recreates only
    those whose configuration changed. The caller gates the new container, swaps the route and removes the
    old one (M(cutover.deploy.reap)). Refused, before anything changes, when the routed service cannot run
    twice side by side (C(container_name), a fixed host port, or more than one replica).
  - A moved image tag is not noticed. Change the file (or O(env)) to deploy a new image.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.release_record
  - cutover.deploy.lease
  - cutover.deploy.engine
options:
  service:
    description: The Cutover service (names the default project, the override file and the labels).
    type: str
    required: true
  files:
    description: The compose files on the host, by absolute path, in order (later ones override earlier ones).
    type: list
    elements: path
    required: true
  route_service:
    description: The compose service the proxy route goes to.
    type: str
    required: true
  container_port:
    description: The port O(route_service) listens on in its container.
    type: int
    required: true
  project:
    description: The compose project name. Defaults to O(service).
    type: str
  env:
    description:
      - Variables for the compose files' C(${VAR}) substitution. Not for secrets, since they are logged.
      - The compose tool runs with these and a fixed C(PATH), C(LANG), C(HOME) and the engine's C(DOCKER_HOST),
        nothing of the host's environment, so a variable exported on the host cannot change what is deployed.
        The project's C(.env) file is read as the tool reads it.
      - They reach the compose tool's environment, so names the tool itself acts on are refused. These are
        C(PATH), C(HOME), C(SHELL), C(ENV), C(BASH_ENV), C(IFS), C(TMPDIR), the proxy variables, and names
        starting with C(LD_), C(PYTHON), C(DOCKER_), C(COMPOSE_), C(PODMAN_), C(CONTAINERS_), C(BUILDAH_),
        C(BUILDKIT_), C(SSL_), C(REQUESTS_), C(CURL_), C(XDG_), C(MALLOC_) or C(GLIBC_), in any case.
    type: dict
    default: {}
  tool:
    description: The compose tool.
    type: str
    default: docker-compose
    choices: [docker-compose, podman-compose]
  strategy:
    description:
      - C(recreate) replaces the whole project; C(blue-green) starts a second container of O(route_service)
        beside O(live) and leaves the swap to the caller.
    type: str
    default: recreate
    choices: [recreate, blue-green]
  live:
    description:
      - With O(strategy=blue-green), the name of the routed service's live container (from the service's
        state), which is left running. When it already runs this release, nothing is done and
        RV(already_live) is true.
    type: str
  publish_address:
    description: Address O(route_service) is published on.
    type: str
    default: 127.0.0.1
  state_dir:
    description: Folder of the host's Cutover state; the override file is C(compose/<service>.override.yml) there.
    type: path
    default: /var/lib/cutover
attributes:
  check_mode:
    support: full
    description: Reports whether the project would be recreated, running nothing.
  diff_mode:
    support: full
    description: Shows the routed container's release before and after.
  idempotent:
    support: full
    description: An unchanged project is left as it is, with C(changed=false).
'''

EXAMPLES = r'''
- name: Bring the shop project up, routing to its web service
  cutover.deploy.compose_project:
    service: shop
    files: [/srv/shop/compose.yml]
    route_service: web
    container_port: 8080
    env: {WEB_TAG: "2.4.1"}
  register: shop
'''

RETURN = r'''
container:
  description: The routed service's container (name, id, image, release, running, upstream).
  returned: success
  type: dict
upstream:
  description: Where the routed service is published, C(address:port).
  returned: success
  type: str
release:
  description: The project's release (the digest of its files, the override and O(env)).
  returned: success
  type: str
containers:
  description: Names of every container of the project after the run.
  returned: success
  type: list
  elements: str
already_live:
  description: With O(strategy=blue-green), whether O(live) already runs this release (nothing was done).
  returned: success
  type: bool
standby:
  description: Always false (a compose project keeps no running standby); there for the blue-green role.
  returned: success
  type: bool
number:
  description: The release number O(record) began (null when nothing was recorded).
  returned: success
  type: int
'''

import hashlib
import json
import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._process import run_bounded
from ansible_collections.cutover.deploy.plugins.module_utils._state import (
    DEFAULT_STATE_DIR, begin_release, load_state, recorded_entry, release_record_option, save_state)

from ansible_collections.cutover.deploy.plugins.module_utils._engine import Engine, describe, engine_argument_spec, free_port
from ansible_collections.cutover.deploy.plugins.module_utils._files import read_text, write_atomic
from ansible_collections.cutover.deploy.plugins.module_utils._module import (
    lease_option, renew_lease, require_valid_service)
from ansible_collections.cutover.deploy.plugins.module_utils._naming import container_labels
from ansible_collections.cutover.deploy.plugins.module_utils._source import compose_errors
from ansible_collections.cutover.deploy.plugins.module_utils._time import iso_now

PROJECT_LABEL = 'com.docker.compose.project'  # set by docker-compose and by podman-compose
SERVICE_LABEL = 'com.docker.compose.service'


def override_text(route_service, address, host_port, container_port, labels):
    """Cutover's override file: the routed service published on a pinned port (host_port None: one the engine
    picks per container, so two can run side by side), and labelled. Pure (JSON is YAML)."""
    host = '[%s]' % address if ':' in address else address
    port = '%s:%s:%d' % (host, '' if host_port is None else host_port, container_port)
    doc = {'services': {route_service: {'ports': [port], 'labels': labels}}}
    return json.dumps(doc, indent=2, sort_keys=True) + '\n'


def compose_image(project):
    """What a compose project's releases record as their image (and the rollback role refuses). Pure."""
    return 'compose:%s' % project


def fixed_host_port(port):
    """The host port a compose ports entry binds (short or long syntax), or None when the engine picks it. Pure."""
    if isinstance(port, dict):
        published = port.get('published')
        return str(published) if published not in (None, '') else None
    parts = str(port).split('/', maxsplit=1)[0].rsplit(':', 2)
    if len(parts) == 1:
        return None
    return parts[-2] or None


def blue_green_refusals(config, route_service):
    """Why the routed service cannot run twice side by side, from the project's merged configuration (what
    `compose config` prints): a list of messages, empty when it can. Pure."""
    services = (config or {}).get('services') or {}
    if route_service not in services:
        return ['source.service %s is not a service of the project (its services: %s)'
                % (route_service, ', '.join(sorted(services)) or 'none')]
    svc, errors = services[route_service] or {}, []
    why = 'blue-green runs the old and the new container of source.service %s side by side' % route_service
    if svc.get('container_name'):
        errors.append('%s, and its container_name %s names one container: remove container_name, or use '
                      'cutover_strategy recreate' % (why, svc['container_name']))
    fixed = [p for p in (fixed_host_port(port) for port in svc.get('ports') or []) if p]
    if fixed:
        errors.append('%s, and both cannot bind host port %s: leave the publishing to Cutover (remove the ports), '
                      'or use cutover_strategy recreate' % (why, ', '.join(fixed)))
    scale = svc.get('scale') or (svc.get('deploy') or {}).get('replicas') or 1
    if int(scale) > 1:
        errors.append('%s, and it asks for %s replicas: Cutover routes to one container of it; use scale 1, or '
                      'cutover_strategy recreate' % (why, scale))
    return errors


def stale_routed(routed, live, release):
    """The routed service's containers to remove before a new one is added beside the live one: any stopped
    one, and a running one of this very release (a green an interrupted run left) that is not live. Pure
    over describe() dicts; a running container of another release is kept (reconcile judges those)."""
    return [c['name'] for c in routed
            if c['name'] != live and (not c['running'] or c['release'] == release)]


SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'


def tool_environment(env, tool, engine_host, home):
    """The compose tool's whole environment: a fixed PATH and locale, the user's home (its registry logins), the
    engine, and the project's variables. Nothing of the host's own: a variable exported there (a ${TAG} the
    files use, a COMPOSE_* or DOCKER_* setting) would change what is deployed, unseen in the release. Pure."""
    environ = dict(PATH=SYSTEM_PATH, LANG='C.UTF-8', HOME=home)
    if tool == 'docker-compose':
        environ['DOCKER_HOST'] = engine_host
    environ.update(env)
    return environ


def project_release(file_texts, env):
    """The digest that names a project's release: its files in order and its variables. Pure."""
    h = hashlib.sha256()
    for text in file_texts:
        h.update(hashlib.sha256(text.encode()).digest())
    h.update(json.dumps(env, sort_keys=True).encode())
    return 'compose-' + h.hexdigest()[:12]


def pinned_port(override_path, address):
    """The host port an earlier run chose (so the route and a restart keep it), or a free one."""
    try:
        port = int(json.loads(read_text(override_path))['services'].popitem()[1]['ports'][0].rsplit(':', 2)[-2])
        if port > 0:
            return port
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        pass
    return free_port(address)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine_argument_spec(),
            lease=lease_option(),
            service=dict(type='str', required=True),
            files=dict(type='list', elements='path', required=True),
            route_service=dict(type='str', required=True),
            container_port=dict(type='int', required=True),
            project=dict(type='str'),
            env=dict(type='dict', default={}),
            tool=dict(type='str', default='docker-compose', choices=['docker-compose', 'podman-compose']),
            strategy=dict(type='str', default='recreate', choices=['recreate', 'blue-green']),
            live=dict(type='str'),
            record=release_record_option(),
            publish_address=dict(type='str', default='127.0.0.1'),
            state_dir=dict(type='path', default=DEFAULT_STATE_DIR),
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_valid_service(module)
    lease = renew_lease(module)
    project = p['project'] or p['service']
    env = {k: str(v) for k, v in p['env'].items()}
    errors = compose_errors(dict(type='compose', files=p['files'], service=p['route_service'], env=env, project=project), 'source')
    if errors:
        module.fail_json(msg='; '.join(errors))
    if not 1 <= p['container_port'] <= 65535:
        module.fail_json(msg='container_port %s is invalid: use 1-65535' % p['container_port'])
    if p['strategy'] == 'blue-green' and p['tool'] != 'docker-compose':
        module.fail_json(msg='strategy blue-green with a compose source needs docker-compose: %s cannot add a second '
                             'container of a service beside the first; use strategy recreate' % p['tool'])
    texts = []
    for path in p['files']:
        try:
            text = read_text(path)
        except OSError as exc:
            module.fail_json(msg='source.files: cannot read the compose file %s on the host: %s' % (path, exc))
        if text is None:
            module.fail_json(msg='source.files: the compose file %s does not exist on the host' % path)
        texts.append(text)
    tool = module.get_bin_path(p['tool'])
    if tool is None:
        module.fail_json(msg='%s is not installed on the host (Debian: apt-get install %s)' % (p['tool'], p['tool']))
    override = os.path.join(p['state_dir'], 'compose', '%s.override.yml' % p['service'])
    environ = tool_environment(env, p['tool'], p['engine_host'], pwd.getpwuid(os.getuid()).pw_dir)

    def compose(*args, files=None):
        """Run the compose tool on the project; (rc, out, err)."""
        cmd = [tool, '-p', project]
        for path in files or p['files'] + [override]:
            cmd += ['-f', path]
        with lease.held_while('%s %s' % (p['tool'], args[0])):
            done = run_bounded(cmd + list(args), None, env=environ, cwd=os.path.dirname(p['files'][0]))
        return done.returncode, done.stdout, done.stderr

    engine = Engine(module)

    def project_containers():
        found = engine.call('listing the containers of project %s' % project, engine.client.containers.list,
                            all=True, filters={'label': '%s=%s' % (PROJECT_LABEL, project)})
        return found, [c for c in found if (c.labels or {}).get(SERVICE_LABEL) == p['route_service']]

    if p['strategy'] == 'blue-green':
        blue_green(module, engine, compose, project_containers, project, texts, env, override)
    recreate(module, compose, project_containers, project, texts, env, override)


def recreate(module, compose, project_containers, project, texts, env, override):
    """The whole project again (its old containers stop before the new ones start), the routed service on its
    pinned port."""
    p = module.params
    port = pinned_port(override, p['publish_address'])
    # what is deployed: the files, the variables and where the routed service is published
    release = project_release(texts + ['%s %s:%d:%d' % (p['route_service'], p['publish_address'], port, p['container_port'])], env)
    labels = container_labels(p['service'], release, 'recreate', compose_image(project), p['container_port'], config=release)
    text = override_text(p['route_service'], p['publish_address'], port, p['container_port'], labels)

    containers, routed = project_containers()
    before = describe(routed[0]) if routed else None
    if before is not None and before['running'] and before['release'] == release:
        module.exit_json(changed=False, container=before, upstream=before['upstream'], release=release,
                         containers=sorted(c.name for c in containers))
    diff = dict(before='%s\n' % (before['release'] if before else ''), after='%s\n' % release)
    if module.check_mode:
        module.exit_json(changed=True, container=before, upstream='%s:%d' % (p['publish_address'], port), release=release,
                         containers=sorted(c.name for c in containers), diff=diff)
    os.makedirs(os.path.dirname(override), exist_ok=True)
    write_atomic(override, text)
    rc, out, err = compose('up', '-d', '--force-recreate', '--remove-orphans')
    containers, routed = project_containers()
    if rc != 0 or not routed:
        module.fail_json(msg='%s up failed (rc %s)%s: %s' % (p['tool'], rc, '' if routed else
                                                             ', and there is no %s container' % p['route_service'],
                                                             (err or out).strip()[-2000:]))
    after = describe(routed[0])
    module.exit_json(changed=True, container=after, upstream=after['upstream'], release=release,
                     containers=sorted(c.name for c in containers), diff=diff)


def blue_green(module, engine, compose, project_containers, project, texts, env, override):
    """One more container of the routed service, with the new configuration, beside the live one; the other
    services brought up to date by compose. The caller gates, swaps and removes the old container."""
    p = module.params
    # the release does not name a host port: each of the routed service's containers gets its own
    release = project_release(texts + ['%s blue-green %s:%d' % (p['route_service'], p['publish_address'], p['container_port'])], env)
    containers, routed = project_containers()
    known = [describe(c) for c in routed]
    live = next((c for c in known if c['name'] == p['live']), None)
    result = dict(release=release, already_live=False, standby=False, number=None)
    if live is not None and live['running'] and live['release'] == release:
        module.exit_json(changed=False, container=live, upstream=live['upstream'],
                         containers=sorted(c.name for c in containers), **dict(result, already_live=True))

    # refused before anything changes: the project as the tool merges it, without Cutover's override
    rc, out, err = compose('config', files=p['files'])
    if rc != 0:
        module.fail_json(msg='%s config failed (rc %s): %s' % (p['tool'], rc, (err or out).strip()[-2000:]))
    try:
        import yaml  # the compose tools' own dependency, so present where they are
        config = yaml.safe_load(out)
    except ImportError:
        module.fail_json(msg='PyYAML is needed on the host to read %s config (Debian: apt-get install python3-yaml)'
                         % p['tool'])
    except yaml.YAMLError as exc:
        module.fail_json(msg='cannot read what %s config printed: %s' % (p['tool'], exc))
    refusals = blue_green_refusals(config, p['route_service'])
    if refusals:
        module.fail_json(msg='; '.join(refusals))
    others = sorted(name for name in (config.get('services') or {}) if name != p['route_service'])
    diff = dict(before='%s\n' % (live['release'] if live else ''), after='%s\n' % release)
    if module.check_mode:
        module.exit_json(changed=True, container=live, upstream=None, containers=sorted(c.name for c in containers),
                         diff=diff, **result)

    stale = stale_routed(known, p['live'], release)
    for name in stale:
        engine.call('removing %s, a container of %s that is not live' % (name, p['route_service']),
                    lambda n=name: engine.client.containers.get(n).remove(force=True))
    kept = [c['name'] for c in known if c['name'] not in stale]
    labels = container_labels(p['service'], release, 'blue-green', compose_image(project), p['container_port'], config=release)
    os.makedirs(os.path.dirname(override), exist_ok=True)
    write_atomic(override, override_text(p['route_service'], p['publish_address'], None, p['container_port'], labels))
    if others:  # compose recreates only those whose configuration changed
        rc, out, err = compose('up', '-d', '--no-deps', *others)
        if rc != 0:
            module.fail_json(msg='%s up of %s failed (rc %s): %s' % (
                p['tool'], ', '.join(others), rc, (err or out).strip()[-2000:]))
    rc, out, err = compose('up', '-d', '--no-deps', '--no-recreate', '--scale',
                           '%s=%d' % (p['route_service'], len(kept) + 1), p['route_service'])
    containers, routed = project_containers()
    green = next((describe(c) for c in routed if c.name not in kept), None)
    if rc != 0 or green is None or not green['running'] or green['release'] != release:
        if green is not None:  # a half-started green is not left behind
            engine.call('removing %s' % green['name'], lambda: engine.client.containers.get(green['name']).remove(force=True))
        module.fail_json(msg='%s up of a new %s container failed (rc %s): %s' % (
            p['tool'], p['route_service'], rc, (err or out).strip()[-2000:] or 'no new container is running'))
    if p['record']:
        result['number'] = record_release(module, green, release, compose_image(project))
    module.exit_json(changed=True, container=green, upstream=green['upstream'],
                     containers=sorted(c.name for c in containers), diff=diff, **result)


def record_release(module, green, release, image):
    """Begin the release in the history (outcome running); its number."""
    p, rec = module.params, module.params['record']
    entry = recorded_entry(rec, image, 'blue-green', green, release, p['container_port'], iso_now())
    after, number = begin_release(load_state(module), entry, rec['history_limit'])
    save_state(module, after)
    return number


if __name__ == '__main__':
    main()
