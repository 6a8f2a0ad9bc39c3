# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One client over the Docker Engine API (docker SDK) for Docker and Podman.

Podman serves the same API on its own socket (podman system service), so one code path drives
both engines. Every engine error becomes a fail_json naming what we tried and where.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.cutover.deploy.plugins.module_utils._naming import (
    LABEL_CONFIG, LABEL_PORT, LABEL_RELEASE, LABEL_SECRET_ENV, LABEL_SERVICE,
)
from ansible_collections.cutover.deploy.plugins.module_utils._registry import (
    auth_config, describe_registry, insecure_allowed, install_ca_cert, registry_of,
)

# The docker SDK costs ~0.2 s to import: it is imported when a module first talks to the engine
# (Engine()), not when a module that may never do so (proxy_site on a host proxy) loads this file.
docker = None  # pylint: disable=invalid-name


class DockerException(Exception):
    """Stands for docker.errors.DockerException until the SDK is loaded (Engine() loads it)."""


class NotFound(DockerException):
    pass


class ImageNotFound(NotFound):
    pass


def load_sdk():
    """Import the docker SDK and bind its error classes here; (ok, import traceback)."""
    global docker, DockerException, NotFound, ImageNotFound  # pylint: disable=global-statement
    if docker is not None:
        return True, None
    try:
        import docker as sdk  # pylint: disable=import-outside-toplevel
        from docker.errors import DockerException as sdk_error, ImageNotFound as sdk_image_not_found, \
            NotFound as sdk_not_found  # pylint: disable=import-outside-toplevel
    except ImportError:
        return False, traceback.format_exc()
    docker, DockerException, NotFound, ImageNotFound = sdk, sdk_error, sdk_not_found, sdk_image_not_found
    return True, None


# requests is the docker SDK's transport; checked on its own so a missing one is named as such.
HAS_REQUESTS = importlib.util.find_spec('requests') is not None

DEFAULT_ENGINE_HOST = 'unix:///var/run/docker.sock'


def engine_argument_spec():
    """The engine connection options every engine-facing module takes (doc fragment: engine)."""
    return dict(
        engine_host=dict(type='str', default=DEFAULT_ENGINE_HOST,
                         fallback=(env_fallback, ['CUTOVER_ENGINE_HOST'])),
        engine_timeout=dict(type='int', default=60),
        tls=dict(type='bool', default=False),
        tls_verify=dict(type='bool', default=True),
        tls_ca_cert=dict(type='path'),
        tls_client_cert=dict(type='path'),
        tls_client_key=dict(type='path', no_log=False),
    )


def _tls_config(params):
    if not params['tls'] or not params['engine_host'].startswith(('tcp://', 'https://')):
        return False
    client_cert = None
    if params['tls_client_cert'] or params['tls_client_key']:
        client_cert = (params['tls_client_cert'], params['tls_client_key'])
    return docker.tls.TLSConfig(client_cert=client_cert, ca_cert=params['tls_ca_cert'],
                                verify=params['tls_verify'])


def free_port(address):
    """A port the kernel says is free on address now (the engine binds it a moment later)."""
    family = socket.AF_INET6 if ':' in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def is_running(state):
    """Whether a container's State (inspect) says it runs, in Docker's sense: until its stop has ended. Podman reports
    a container whose graceful stop is under way as not Running, status `stopping`, and refuses to start it until it
    has stopped. Pure."""
    state = state or {}
    return bool(state.get('Running')) or state.get('Status') == 'stopping'


def describe(container):
    """The facts about a managed container the modules return and decide on."""
    attrs = container.attrs
    labels = attrs.get('Config', {}).get('Labels') or {}
    state = attrs.get('State') or {}
    return dict(
        name=attrs.get('Name', container.name).lstrip('/'),
        id=container.id,
        image=(attrs.get('Config') or {}).get('Image'),
        image_id=attrs.get('Image'),
        release=labels.get(LABEL_RELEASE),
        config=labels.get(LABEL_CONFIG),
        created=attrs.get('Created', ''),
        status=state.get('Status'),
        running=is_running(state),
        upstream=published_upstream(attrs, labels.get(LABEL_PORT)),
    )


def published_upstream(attrs, container_port):
    """'127.0.0.1:PORT' for the container port's loopback binding, or None.

    What the engine publishes now; for a stopped container, the host port pinned in its bindings
    (the port it will publish when started again).
    """
    if not container_port:
        return None
    key = '%s/tcp' % container_port
    published = ((attrs.get('NetworkSettings') or {}).get('Ports') or {}).get(key)
    pinned = ((attrs.get('HostConfig') or {}).get('PortBindings') or {}).get(key)
    running = is_running(attrs.get('State'))
    for binding in (published or ([] if running else pinned) or []):
        if binding.get('HostPort') and binding['HostPort'] != '0':
            return '%s:%s' % (binding.get('HostIp') or '127.0.0.1', binding['HostPort'])
    return None


def negotiated_client(args):
    """(client, whether the engine is Podman): a client speaking the engine's own API version, negotiated as the
    docker CLI does it, from the Api-Version header of /_ping, which also shows that the engine answers. The SDK's
    `auto` asks /version instead, which Podman takes about 0.3 s to answer (it asks dpkg-query about its components'
    packages), in every module run. Podman names itself in a header of every answer (Libpod-Api-Version)."""
    client = docker.DockerClient(version=docker.constants.MINIMUM_DOCKER_API_VERSION, **args)
    answer = client.api.get(client.api.base_url + '/_ping', timeout=args['timeout'])
    answer.raise_for_status()
    podman = 'Libpod-Api-Version' in answer.headers  # requests' headers ignore case
    version = answer.headers.get('Api-Version')
    if not version:  # an engine (or a proxy in front of it) that does not say: ask as the SDK does
        client.close()
        return docker.DockerClient(version='auto', **args), podman
    client.api._version = version  # pylint: disable=protected-access; the SDK has no setter, and no second connection
    return client, podman


class Engine:
    """A connected engine client bound to one Ansible module (for error reporting)."""

    def __init__(self, module):
        self.module = module
        loaded, import_error = load_sdk()
        if not loaded:
            module.fail_json(msg=missing_required_lib('docker'), exception=import_error)
        self.sdk = docker
        self.errors = docker.errors  # for callers' except clauses (this module's names are bound late)
        if not HAS_REQUESTS:
            module.fail_json(msg=missing_required_lib('requests'))
        params = module.params
        self.url = params['engine_host']
        try:
            if params['tls'] and params['tls_ca_cert']:
                # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE from the environment replace the CA
                # we were given (psf/requests#3829); the engine's own CA must win. This process only
                # talks to the engine.
                for var in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
                    os.environ.pop(var, None)
            args = dict(base_url=self.url, timeout=params['engine_timeout'], tls=_tls_config(params))
            self.client, self.is_podman = negotiated_client(args)
        except Exception as exc:  # the SDK raises many types here; all mean "not reachable"
            module.fail_json(msg='cannot reach the container engine at %s (engine_host): %s' % (self.url, exc))
        self._client_args = dict(args, version=self.client.api.api_version)

    def client_args(self):
        """The arguments this client was made with, its API version included (a helper process makes its own
        from them, with nothing to negotiate)."""
        return dict(self._client_args)

    def fail(self, what, exc):
        self.module.fail_json(msg='%s failed on the engine at %s: %s' % (what, self.url, exc))

    def call(self, what, fn, *args, **kwargs):
        """Run one SDK call; any engine error fails the module with what we were doing."""
        try:
            return fn(*args, **kwargs)
        except DockerException as exc:
            self.fail(what, exc)

    def remove_stopped(self, what, container):
        """Remove a stopped container. One already gone, or that another process is removing (a retiring
        container's helper), is as good as removed: Docker answers 409 "removal ... already in progress" while the
        other removal runs; Podman serializes removals on the container's lock and answers 404 after it."""
        try:
            container.remove(v=False)
        except NotFound:
            pass
        except DockerException as exc:
            if 'already in progress' not in str(exc):
                self.fail(what, exc)

    def service_containers(self, service):
        """Every container (any state) labelled as this service's."""
        found = self.call('listing containers of service %s' % service, self.client.containers.list,
                          all=True, filters={'label': '%s=%s' % (LABEL_SERVICE, service)})
        return [c for c in found if (c.labels or {}).get(LABEL_SERVICE) == service]

    def service_inventory(self, service):
        """(describe() dicts, {name: container}) of the service's containers."""
        handles = {}
        infos = []
        for c in self.service_containers(service):
            info = describe(c)
            handles[info['name']] = c
            infos.append(info)
        return infos, handles

    def built_images(self, service, label):
        """The images with label that are tagged <service>:..., as the engine spells that short name (Podman:
        localhost/<service> or docker.io/library/<service>): dicts with id, created (epoch seconds) and those
        tags only, never another name the image has."""
        names = tuple('%s%s:' % (prefix, service) for prefix in ('', 'localhost/', 'docker.io/library/'))
        found = []
        for row in self.call('listing images', self.client.api.images, filters={'label': label}) or []:
            tags = [t for t in row.get('RepoTags') or [] if t.startswith(names)]
            if tags:
                found.append(dict(id=row['Id'], created=row.get('Created') or 0, tags=tags))
        return found

    def get_container(self, name_or_id):
        """The container, or None when it does not exist."""
        try:
            return self.client.containers.get(name_or_id)
        except NotFound:
            return None
        except DockerException as exc:
            self.fail('inspecting container %s' % name_or_id, exc)

    def get_image(self, ref):
        """The image, or None when the engine does not have it."""
        try:
            return self.client.images.get(ref)
        except ImageNotFound:
            return None
        except DockerException as exc:
            self.fail('inspecting image %s' % ref, exc)

    def ensure_image(self, ref, pull, registry=None):
        """Return (image, pulled) under the pull policy missing/always/never, pulling with the
        registry's credentials when given."""
        image = self.get_image(ref)
        if pull == 'always' or (pull == 'missing' and image is None):
            try:
                return self._pull(ref, auth_config(registry, ref)), True
            except DockerException as exc:
                if image is None or pull == 'always':
                    self.fail('pulling image %s (pull=%s) from %s' % (ref, pull, describe_registry(registry, ref)),
                              exc)
        if image is None:
            self.module.fail_json(msg='image %s is not on the engine at %s and pull=never' % (ref, self.url))
        return image, False

    def _pull(self, ref, auth):
        """Pull ref and return its image. The pull's own error (such as the registry's "unauthorized")
        is raised, where the SDK's images.pull would report only that the image is missing afterwards
        (Podman answers a failed pull with an error inside a successful stream)."""
        repository, tag = docker.utils.parse_repository_tag(ref)
        tag = tag or 'latest'
        for event in self.client.api.pull(repository, tag=tag, auth_config=auth, stream=True, decode=True):
            if isinstance(event, dict) and event.get('error'):
                raise DockerException(event['error'])
        return self.client.images.get('%s%s%s' % (repository, '@' if tag.startswith('sha256:') else ':', tag))

    def prepare_registry(self, ref, registry, check_mode):
        """Before a pull: install the registry's CA for this host's engine, and refuse
        tls_verify=false when the engine would verify anyway. Returns the actions taken."""
        if not registry:
            return []
        host = registry_of(registry, ref)
        if registry.get('tls_verify') is False:
            info = self.call('reading the engine configuration', self.client.info)
            if insecure_allowed(info.get('RegistryConfig'), host) is False:
                self.module.fail_json(
                    msg='registry.tls_verify=false: the engine at %s verifies TLS for %s (not among its insecure '
                        'registries); the engine makes the connection, so add %s to its insecure-registries '
                        '(Docker daemon.json) or give registry.ca_cert instead' % (self.url, host, host))
        if not registry.get('ca_cert'):
            return []
        if not self.url.startswith('unix://'):
            self.module.fail_json(msg='registry.ca_cert is installed for the engine on the host the module runs on; '
                                      'engine_host %s is not a local socket: install the CA in that engine '
                                      "host's certs.d/%s/ instead" % (self.url, host))
        try:
            written = install_ca_cert(ref, registry, check_mode)
        except OSError as exc:
            self.module.fail_json(msg='registry.ca_cert: cannot install the CA of %s: %s' % (host, exc))
        return ['trust CA of %s (%s)' % (host, path) for path in written]

    def image_for(self, ref, pull, check_mode, registry=None):
        """(image, pulled) under the pull policy. Check mode never pulls: it returns the image the
        engine has (or None) and whether it would pull."""
        if not check_mode:
            return self.ensure_image(ref, pull, registry)
        image = self.get_image(ref)
        if image is None and pull == 'never':
            self.module.fail_json(msg='image %s is not on the engine at %s and pull=never' % (ref, self.url))
        return image, image is None or pull == 'always'

    def logs_tail(self, container, lines=50):
        """The container's last log lines, with the values of its secret variables masked."""
        try:
            text = container.logs(tail=lines).decode('utf-8', 'replace')
        except DockerException as exc:
            return ['(logs unavailable: %s)' % exc]
        return mask_secrets(text, secret_env(container.attrs)).splitlines()


def container_env(attrs):
    """{name: value} of a container's environment (engine inspect data)."""
    env = {}
    for item in (attrs.get('Config') or {}).get('Env') or []:
        name, _sep, value = item.partition('=')
        env[name] = value
    return env


def secret_env(attrs):
    """{name: value} of the variables green_container recorded as secret."""
    labels = (attrs.get('Config') or {}).get('Labels') or {}
    names = [n for n in (labels.get(LABEL_SECRET_ENV) or '').split(',') if n]
    env = container_env(attrs)
    return {n: env[n] for n in names if n in env}


def mask_secrets(text, secrets):
    """text with every secret value (3 characters or more: shorter ones would mask ordinary text) hidden."""
    for value in sorted(secrets.values(), key=len, reverse=True):
        if len(value) >= 3:
            text = text.replace(value, '********')
    return text
