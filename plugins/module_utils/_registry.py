# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pulling from a private registry: the pull options, which registry an image lives in, and the
credentials the engine gets for one pull.

The engine (Docker, or Podman through the same API) does the pull; Cutover hands it the credentials
for that one pull (auth_config) and, when given a CA, installs it where both engines look for a
registry's CA (certs.d/<registry>/ca.crt), so nothing is written to a credential store on the host.
"""

from __future__ import annotations

import ipaddress
import os

from ansible_collections.cutover.deploy.plugins.module_utils._files import write_atomic

DOCKER_HUB = 'docker.io'
# where Docker and Podman read a registry's CA at each pull (no daemon restart needed)
CERTS_DIRS = ('/etc/docker/certs.d', '/etc/containers/certs.d')


def pull_argument_spec():
    """The options every module that may pull takes (doc fragment: pull)."""
    return dict(
        pull=dict(type='str', default='missing', choices=['missing', 'always', 'never']),
        registry=dict(type='dict', options=dict(
            username=dict(type='str'),
            password=dict(type='str', no_log=True),
            url=dict(type='str'),
            ca_cert=dict(type='str'),
            tls_verify=dict(type='bool', default=True),
        )),
    )


def image_registry(ref):
    """The registry host[:port] an image reference names (docker.io when it names none).

    The first path part is a registry when it has a dot or a colon, or is localhost: the rule both
    engines use.
    """
    first, sep, _rest = ref.partition('/')
    if sep and ('.' in first or ':' in first or first == 'localhost'):
        return first
    return DOCKER_HUB


def registry_host(url):
    """host[:port] of a registry given as a URL or a bare host."""
    for scheme in ('https://', 'http://'):
        if url.startswith(scheme):
            url = url[len(scheme):]
    return url.split('/', 1)[0]


def registry_of(registry, image):
    """host[:port] of the registry a pull of image talks to: registry.url when given, else the image's own."""
    return registry_host((registry or {}).get('url') or image_registry(image))


def registry_errors(registry, image, field='registry'):
    """Problems with the registry settings, each naming its field (pure). image may be None (not
    known yet: the url is then checked on its own)."""
    if not registry:
        return []
    errors = []
    if bool(registry.get('username')) != bool(registry.get('password')):
        errors.append('%s needs both username and password, or neither' % field)
    url = registry.get('url')
    if url:
        host = registry_host(url)
        if not host or any(c.isspace() for c in url):
            errors.append('%s.url %r is not a registry address such as registry.example.com:5000' % (field, url))
        elif image and host != image_registry(image):
            errors.append('%s.url %s is not the registry of image %s (%s): the credentials would '
                          'not be used for its pull' % (field, host, image, image_registry(image)))
    ca = registry.get('ca_cert')
    if ca and '-----BEGIN CERTIFICATE-----' not in ca:
        errors.append('%s.ca_cert must be the CA certificate itself (PEM text), not a path or other text' % field)
    if ca and registry.get('tls_verify') is False:
        errors.append('%s.ca_cert and %s.tls_verify=false contradict each other: give one' % (field, field))
    return errors


def auth_config(registry, image):
    """The credentials for one pull of image (docker SDK auth_config), or None without credentials."""
    if not registry or not registry.get('username'):
        return None
    return dict(username=registry['username'], password=registry['password'],
                serveraddress=registry_of(registry, image))


def insecure_allowed(registry_config, host):
    """Whether the engine skips TLS verification for host: True, False, or None when the engine does
    not say (Podman's Docker API leaves RegistryConfig empty; its registries.conf decides)."""
    config = registry_config or {}
    indexes = config.get('IndexConfigs') or {}
    cidrs = config.get('InsecureRegistryCIDRs') or []
    if host in indexes:
        return not indexes[host].get('Secure', True)
    address = host.rsplit(':', 1)[0] if host.count(':') == 1 else host
    try:
        ip = ipaddress.ip_address(address.strip('[]'))
    except ValueError:
        ip = None
    if ip is not None and any(ip in ipaddress.ip_network(c, strict=False) for c in cidrs):
        return True
    if not indexes and not cidrs:
        return None
    return False


def describe_registry(registry, image):
    """'registry HOST as USER' for messages (never the password)."""
    host = registry_of(registry, image)
    user = (registry or {}).get('username')
    return 'registry %s%s' % (host, ' as user %s' % user if user else '')


def ca_cert_paths(image, registry):
    """Where the registry's CA goes so the engine on this host trusts it."""
    host = registry_of(registry, image)
    return [os.path.join(d, host, 'ca.crt') for d in CERTS_DIRS]


def install_ca_cert(image, registry, check_mode):
    """Write registry.ca_cert where Docker and Podman read it; return the paths written (or that
    would be, in check mode). An identical file is left alone."""
    pem = registry['ca_cert'].strip() + '\n'
    written = []
    for path in ca_cert_paths(image, registry):
        try:
            with open(path) as f:
                if f.read() == pem:
                    continue
        except OSError:
            pass
        written.append(path)
        if not check_mode:
            write_atomic(path, pem)
    return written
