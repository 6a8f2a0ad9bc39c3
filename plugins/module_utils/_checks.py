# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of single input fields (pure functions): names, addresses, paths, volumes, env, labels, patterns.

Every module checks what it receives with these, since it can be called directly; the settings step runs them
with the rest of _validate.py on the controller. Kept apart from _validate.py so that a module ships only the
checks it uses (each module run compiles what it imports, on the controller and again on the host). Each check
returns None or a message naming the field, what it got and what is allowed; patterns are full matches.
"""

from __future__ import annotations

import ipaddress
import math
import re

RELEASE_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,63}')
# HAProxy backend names, Caddy @ids, nginx upstream file names, NPM domain names
ROUTE_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,127}')
DNS_LABEL_RE = re.compile(r'[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?')
ENV_NAME_RE = re.compile(r'[A-Za-z_][A-Za-z0-9_]{0,255}')
VOLUME_NAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,254}')
HOST_PATH_RE = re.compile(r'/[A-Za-z0-9_./@+-]*')  # no spaces, colons, commas or control characters
VOLUME_OPTIONS = ('ro', 'rw', 'z', 'Z')
HTTP_PATH_RE = re.compile(r'/[A-Za-z0-9._~!$&\'()*+,;=:@%/?-]{0,1023}')
LABEL_KEY_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9._/-]{0,253}')


def shown(value):
    """A value as an error message shows it."""
    return repr(value)


def release_error(field, value):
    if value in (None, ''):
        return None
    if not isinstance(value, str) or not RELEASE_RE.fullmatch(value):
        return ('%s %s is invalid: use 1-64 letters, digits, ".", "_" and "-", starting with a letter or digit'
                % (field, shown(value)))
    return None


def route_error(field, value):
    if not isinstance(value, str) or not ROUTE_RE.fullmatch(value) or '..' in value:
        return ('%s %s is invalid: use 1-128 letters, digits, ".", "_" and "-", starting with a letter or digit '
                '(no "..", "/", ";", spaces or line breaks)' % (field, shown(value)))
    return None


def host_error(host):
    """None if host is an IP address or a strict DNS name."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    labels = host.split('.') if host else []
    if labels and len(host) <= 253 and all(DNS_LABEL_RE.fullmatch(label) for label in labels):
        return None
    return 'not an IP address or DNS name'


def split_address(value):
    """(host, port) of 'host:port' or '[v6]:port'; raises ValueError with the reason."""
    if not isinstance(value, str):
        raise ValueError('not a string')
    if value.startswith('['):
        host, sep, port = value[1:].partition(']:')
        if not sep:
            raise ValueError('an IPv6 address needs the form [addr]:port')
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError('%r is not an IPv6 address' % host)
    else:
        host, sep, port = value.rpartition(':')
        if not sep:
            raise ValueError('no ":port"')
        err = host_error(host)
        if err:
            raise ValueError('host %r is %s' % (host, err))
    if not (port.isdigit() and port.isascii() and 0 < int(port) < 65536 and len(port) <= 5):
        raise ValueError('port %r is not 1-65535' % port)
    return host, int(port)


def address_error(field, value):
    """listen addresses and upstreams: host:port with an IP or a strict DNS name."""
    try:
        split_address(value)
    except ValueError as exc:
        return ('%s %s is invalid (%s): use host:port with an IP address or DNS name and a port 1-65535, '
                'such as 127.0.0.1:8080 or [::1]:8080' % (field, shown(value), exc))
    return None


def upstreams_error(field, value):
    """An upstream, or a release's replicas' upstreams joined by commas: each host:port."""
    if not isinstance(value, str) or not value:
        return address_error(field, value)
    return next((e for e in (address_error(field, u) for u in value.split(',')) if e), None)


def volume_error(field, value):
    why = None
    if not isinstance(value, str):
        why = 'not a string'
    else:
        parts = value.split(':')
        if len(parts) not in (2, 3):
            why = 'use source:target or source:target:options'
        else:
            source, target = parts[0], parts[1]
            if not (HOST_PATH_RE.fullmatch(source) or VOLUME_NAME_RE.fullmatch(source)):
                why = 'source must be an absolute host path or a volume name'
            elif not HOST_PATH_RE.fullmatch(target):
                why = 'target must be an absolute path in the container'
            elif len(parts) == 3 and not all(o in VOLUME_OPTIONS for o in parts[2].split(',')):
                why = 'options must be a comma-separated list of %s' % ', '.join(VOLUME_OPTIONS)
    if why:
        return '%s entry %s is invalid: %s (for example data:/data or /srv/web:/srv:ro)' % (field, shown(value), why)
    return None


def env_error(field, env, secret=False):
    """Names must be shell-style identifiers; values strings without NUL. Secret values are never shown."""
    if not isinstance(env, dict):
        return '%s must be a mapping of NAME: value' % field
    for name, value in env.items():
        if not isinstance(name, str) or not ENV_NAME_RE.fullmatch(name):
            return ('%s name %s is invalid: use letters, digits and "_", not starting with a digit'
                    % (field, shown(name)))
        if isinstance(value, (dict, list)) or '\0' in str(value):
            what = '(value hidden)' if secret else shown(value)
            return '%s.%s %s is invalid: use a string, number or boolean without NUL characters' % (field, name, what)
    return None


def labels_error(field, labels):
    if not isinstance(labels, dict):
        return '%s must be a mapping of label: value' % field
    for key, value in labels.items():
        if not isinstance(key, str) or not LABEL_KEY_RE.fullmatch(key):
            return '%s key %s is invalid: use letters, digits, ".", "_", "/" and "-"' % (field, shown(key))
        if isinstance(value, (dict, list)) or any(ch in str(value) for ch in '\0\r\n'):
            return '%s.%s %s is invalid: use a single-line string' % (field, key, shown(value))
    return None


def regex_error(field, value):
    if value in (None, ''):
        return None
    try:
        re.compile(value)
    except (re.error, TypeError) as exc:
        return '%s %s is not a valid regular expression: %s' % (field, shown(value), exc)
    return None


def http_path_error(field, value):
    if value in (None, ''):
        return None
    if not isinstance(value, str) or not HTTP_PATH_RE.fullmatch(value):
        return ('%s %s is invalid: use a URL path starting with "/", without spaces, quotes or line breaks'
                % (field, shown(value)))
    return None


def finite_number(value):
    """value as a float when it is a finite number (or a numeric string, as -e gives them), else None: NaN
    passes every comparison's test and infinity never ends a wait, so neither is a valid setting."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def release_command_error(field, command):
    """None, or what is wrong with a release command: a non-empty string (run by sh -c) or list of strings. Pure."""
    if isinstance(command, str) and command.strip():
        return None
    if isinstance(command, list) and command and all(isinstance(a, str) for a in command) and command[0].strip():
        return None
    return ('%s %s is invalid: use a command line (a string, run by sh -c) or a non-empty list of strings, '
            'such as "bin/rails db:migrate" or ["python", "manage.py", "migrate"]' % (field, shown(command)))
