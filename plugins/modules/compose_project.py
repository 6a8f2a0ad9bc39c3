#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: compose_project
short_description: Bring a compose project up with the engine's compose tool, publishing the routed service
version_added: 0.2.0
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
    Blue-green is not possible, since a project is replaced as a whole.
  - A moved image tag is not noticed. Change the file (or O(env)) to deploy a new image.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
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
'''

import hashlib
import json
import os
import pwd
import subprocess

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._state import DEFAULT_STATE_DIR

from ansible_collections.cutover.deploy.plugins.module_utils._engine import Engine, describe, engine_argument_spec, free_port
from ansible_collections.cutover.deploy.plugins.module_utils._files import read_text, write_atomic
from ansible_collections.cutover.deploy.plugins.module_utils._module import lease_option, renew_lease, require_valid_service
from ansible_collections.cutover.deploy.plugins.module_utils._naming import container_labels
from ansible_collections.cutover.deploy.plugins.module_utils._source import compose_errors

PROJECT_LABEL = 'com.docker.compose.project'  # set by docker-compose and by podman-compose
SERVICE_LABEL = 'com.docker.compose.service'


def override_text(route_service, address, host_port, container_port, labels):
    """Cutover's override file: the routed service published on a pinned port, and labelled. Pure (JSON is YAML)."""
    host = '[%s]' % address if ':' in address else address
    doc = {'services': {route_service: {'ports': ['%s:%d:%d' % (host, host_port, container_port)], 'labels': labels}}}
    return json.dumps(doc, indent=2, sort_keys=True) + '\n'


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
    port = pinned_port(override, p['publish_address'])
    # what is deployed: the files, the variables and where the routed service is published
    release = project_release(texts + ['%s %s:%d:%d' % (p['route_service'], p['publish_address'], port, p['container_port'])], env)
    labels = container_labels(p['service'], release, 'recreate', 'compose:%s' % project, p['container_port'], config=release)
    text = override_text(p['route_service'], p['publish_address'], port, p['container_port'], labels)

    engine = Engine(module)

    def project_containers():
        found = engine.call('listing the containers of project %s' % project, engine.client.containers.list,
                            all=True, filters={'label': '%s=%s' % (PROJECT_LABEL, project)})
        return found, next((c for c in found if (c.labels or {}).get(SERVICE_LABEL) == p['route_service']), None)

    containers, routed = project_containers()
    before = describe(routed) if routed is not None else None
    if before is not None and before['running'] and before['release'] == release:
        module.exit_json(changed=False, container=before, upstream=before['upstream'], release=release,
                         containers=sorted(c.name for c in containers))
    diff = dict(before='%s\n' % (before['release'] if before else ''), after='%s\n' % release)
    if module.check_mode:
        module.exit_json(changed=True, container=before, upstream='%s:%d' % (p['publish_address'], port), release=release,
                         containers=sorted(c.name for c in containers), diff=diff)
    os.makedirs(os.path.dirname(override), exist_ok=True)
    write_atomic(override, text)
    cmd = [tool, '-p', project]
    for path in p['files'] + [override]:
        cmd += ['-f', path]
    cmd += ['up', '-d', '--force-recreate', '--remove-orphans']
    environ = tool_environment(env, p['tool'], p['engine_host'], pwd.getpwuid(os.getuid()).pw_dir)
    with lease.held_while('%s up' % p['tool']):
        done = subprocess.run(cmd, cwd=os.path.dirname(p['files'][0]), env=environ, capture_output=True, text=True,
                              check=False)
    rc, out, err = done.returncode, done.stdout, done.stderr
    containers, routed = project_containers()
    if rc != 0 or routed is None:
        module.fail_json(msg='%s up failed (rc %s)%s: %s' % (p['tool'], rc, '' if routed is not None else
                                                             ', and there is no %s container' % p['route_service'],
                                                             (err or out).strip()[-2000:]))
    after = describe(routed)
    module.exit_json(changed=True, container=after, upstream=after['upstream'], release=release,
                     containers=sorted(c.name for c in containers), diff=diff)


if __name__ == '__main__':
    main()
