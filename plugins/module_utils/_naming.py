# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names and labels of the containers Cutover manages (pure functions)."""

from __future__ import annotations

import re

# A service name becomes part of container names, label values and state file names.
SERVICE_RE = re.compile(r'[a-z0-9][a-z0-9_-]*')  # used with fullmatch
SERVICE_MAX_LEN = 50  # + '-' + up to 12 hex digits stays well under the engines' name limits

LABEL_PREFIX = 'io.cutover.'
LABEL_MANAGED = LABEL_PREFIX + 'managed'
LABEL_SERVICE = LABEL_PREFIX + 'service'
LABEL_RELEASE = LABEL_PREFIX + 'release'
LABEL_STRATEGY = LABEL_PREFIX + 'strategy'
LABEL_IMAGE = LABEL_PREFIX + 'image'
LABEL_PORT = LABEL_PREFIX + 'container-port'
# the labels image_build puts on what it builds (tagged <service>:<commit12>); reap prunes by them
COMMIT_LABEL = LABEL_PREFIX + 'source.commit'
SETTINGS_LABEL = LABEL_PREFIX + 'source.settings'
LABEL_CONFIG = LABEL_PREFIX + 'config'          # digest of the image and the settings, no secret values
LABEL_SECRET_ENV = LABEL_PREFIX + 'secret-env'  # names (never values) of the secret variables


def service_error(service):
    """Return None if the service name is valid, else a message naming the field and the rule."""
    if not isinstance(service, str) or not SERVICE_RE.fullmatch(service):
        return ('invalid service %r: use lowercase letters, digits, "-" and "_", '
                'starting with a letter or digit' % (service,))
    if len(service) > SERVICE_MAX_LEN:
        return 'invalid service %r: at most %d characters' % (service, SERVICE_MAX_LEN)
    return None


def green_name(service, now_ms, taken=()):
    """Service base name + '-' + millisecond-hex suffix, unique against the names in taken.

    The suffix lets the new container coexist with the live one under the engine's unique-name
    rule; on a same-millisecond clash we step forward rather than fail.
    """
    ms = int(now_ms)
    taken = set(taken)
    while True:
        name = '%s-%x' % (service, ms)
        if name not in taken:
            return name
        ms += 1


def members(joined):
    """The container names (or upstreams) a release has on a host: one, or a replica set's, joined by commas in
    the state, the history and the steps' arguments. Pure."""
    return [n for n in joined.split(',') if n] if isinstance(joined, str) else []


def joined(names):
    """The one string of a set of container names (or upstreams): sorted, so the same set is the same string. Pure."""
    return ','.join(sorted(names))


def container_labels(service, release, strategy, image, container_port, extra=None, config='', secret_names=()):
    """Labels recording what a container is; user labels cannot override ours."""
    labels = dict(extra or {})
    labels.update({
        LABEL_CONFIG: config,
        LABEL_SECRET_ENV: ','.join(sorted(secret_names)),
        LABEL_MANAGED: 'true',
        LABEL_SERVICE: service,
        LABEL_RELEASE: release,
        LABEL_STRATEGY: strategy,
        LABEL_IMAGE: image,
        LABEL_PORT: str(container_port),
    })
    return labels
