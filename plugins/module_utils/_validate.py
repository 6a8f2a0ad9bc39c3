# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every check of user input, in one place (pure functions).

The deploy role runs them on the controller (the validate_inputs action) before anything touches a
host, and the modules run the same ones on what they receive, since they can be called directly.
Each check returns None or a message naming the field, what it got and what is allowed. Patterns
are full matches (re.fullmatch: a trailing newline never slips through a `$`), and nothing a
proxy would parse as syntax (CR/LF, `;`, `{}`, whitespace, `/`) passes where it would land in a
proxy's config or command.
"""

from __future__ import annotations

import ipaddress
import math
import re

from ansible_collections.cutover.deploy.plugins.module_utils._files import is_pem
from ansible_collections.cutover.deploy.plugins.module_utils._canary import DEFAULTS as CANARY_DEFAULTS, WATCH_DEFAULTS
from ansible_collections.cutover.deploy.plugins.module_utils._naming import service_error
from ansible_collections.cutover.deploy.plugins.module_utils._registry import pull_argument_spec, registry_errors
from ansible_collections.cutover.deploy.plugins.module_utils._source import source_errors

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


def _show(value):
    return repr(value)


def release_error(field, value):
    if value in (None, ''):
        return None
    if not isinstance(value, str) or not RELEASE_RE.fullmatch(value):
        return ('%s %s is invalid: use 1-64 letters, digits, ".", "_" and "-", starting with a letter or digit'
                % (field, _show(value)))
    return None


def route_error(field, value):
    if not isinstance(value, str) or not ROUTE_RE.fullmatch(value) or '..' in value:
        return ('%s %s is invalid: use 1-128 letters, digits, ".", "_" and "-", starting with a letter or digit '
                '(no "..", "/", ";", spaces or line breaks)' % (field, _show(value)))
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
                'such as 127.0.0.1:8080 or [::1]:8080' % (field, _show(value), exc))
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
        return '%s entry %s is invalid: %s (for example data:/data or /srv/web:/srv:ro)' % (field, _show(value), why)
    return None


def env_error(field, env, secret=False):
    """Names must be shell-style identifiers; values strings without NUL. Secret values are never shown."""
    if not isinstance(env, dict):
        return '%s must be a mapping of NAME: value' % field
    for name, value in env.items():
        if not isinstance(name, str) or not ENV_NAME_RE.fullmatch(name):
            return ('%s name %s is invalid: use letters, digits and "_", not starting with a digit'
                    % (field, _show(name)))
        if isinstance(value, (dict, list)) or '\0' in str(value):
            shown = '(value hidden)' if secret else _show(value)
            return '%s.%s %s is invalid: use a string, number or boolean without NUL characters' % (field, name, shown)
    return None


def labels_error(field, labels):
    if not isinstance(labels, dict):
        return '%s must be a mapping of label: value' % field
    for key, value in labels.items():
        if not isinstance(key, str) or not LABEL_KEY_RE.fullmatch(key):
            return '%s key %s is invalid: use letters, digits, ".", "_", "/" and "-"' % (field, _show(key))
        if isinstance(value, (dict, list)) or any(ch in str(value) for ch in '\0\r\n'):
            return '%s.%s %s is invalid: use a single-line string' % (field, key, _show(value))
    return None


def regex_error(field, value):
    if value in (None, ''):
        return None
    try:
        re.compile(value)
    except (re.error, TypeError) as exc:
        return '%s %s is not a valid regular expression: %s' % (field, _show(value), exc)
    return None


def http_path_error(field, value):
    if value in (None, ''):
        return None
    if not isinstance(value, str) or not HTTP_PATH_RE.fullmatch(value):
        return ('%s %s is invalid: use a URL path starting with "/", without spaces, quotes or line breaks'
                % (field, _show(value)))
    return None


PATH_PREFIX_RE = re.compile(r'(/[A-Za-z0-9._~-]+)+/?')
FRONT_DOOR_KEYS = ('hosts', 'path_prefix', 'tls')
FRONT_DOOR_PROXIES = ('haproxy', 'nginx', 'caddy')


def host_names_error(field, hosts):
    """proxy.hosts: a list of DNS names (no IP addresses, no wildcards, no port)."""
    if not isinstance(hosts, list) or not hosts:
        return '%s %s is invalid: give a list of host names such as [app.example.com]' % (field, _show(hosts))
    for name in hosts:
        labels = name.split('.') if isinstance(name, str) else []
        if not labels or len(name) > 253 or not all(DNS_LABEL_RE.fullmatch(label) for label in labels) \
                or all(label.isdigit() for label in labels):
            return ('%s entry %s is invalid: use a DNS name such as app.example.com (letters, digits, "-" and ".", no '
                    'port, no wildcard)' % (field, _show(name)))
    return None


def _public_key_pem(kind, text):
    """The SubjectPublicKeyInfo PEM of a PEM certificate or unencrypted private key; raises ValueError/TypeError when
    it does not parse, ImportError without `cryptography` (the controller has it: ansible-core requires it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    data = text.strip().encode()
    if kind == 'certificate':
        public = x509.load_pem_x509_certificate(data).public_key()
    else:
        public = serialization.load_pem_private_key(data, password=None).public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def pem_error(field, value, kind):
    """A PEM certificate or key given as text must parse; a path must be absolute (it is read on the host)."""
    if not isinstance(value, str) or not value.strip():
        return ('%s is required with %s: PEM text or the absolute path of a PEM file on the host'
                % (field, field.rsplit('.', 1)[0]))
    if not is_pem(value):
        if not HOST_PATH_RE.fullmatch(value):  # the value is not shown: it may be a key pasted wrongly
            return '%s is invalid: give PEM text (-----BEGIN ...) or the absolute path of a PEM file on the host' % field
        return None
    try:
        _public_key_pem(kind, value)
    except ImportError:
        return None
    except (ValueError, TypeError) as exc:
        return '%s does not parse as a PEM %s%s: %s' % (
            field, kind, ' without a passphrase' if kind == 'key' else '', str(exc).splitlines()[0][:200])
    return None


def key_mismatch_error(prefix, tls):
    """The key of proxy.tls must be the certificate's (both given as PEM text; a path is read on the host)."""
    if not (is_pem(tls.get('certificate')) and is_pem(tls.get('key'))):
        return None
    try:
        if _public_key_pem('certificate', tls['certificate']) != _public_key_pem('key', tls['key']):
            return '%s.tls.key is not the key of %s.tls.certificate (their public keys differ)' % (prefix, prefix)
    except (ImportError, ValueError, TypeError):
        return None  # reported by pem_error
    return None


EMAIL_RE = re.compile(r'[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}')
ACME_PROXIES = ('haproxy', 'nginx', 'caddy')  # Caddy by itself; HAProxy and nginx with lego (_proxy/site.ensure_acme)


def acme_errors(prefix, proxy, tls):
    """proxy.tls.acme: where certificates come from instead of proxy.tls.certificate and key."""
    field, acme = prefix + '.tls.acme', tls['acme']
    if not isinstance(acme, dict):
        return ['%s is invalid: use a mapping with email, directory and (optionally) ca_cert' % field]
    errors = []
    kind = proxy.get('type') or 'haproxy'
    if kind not in ACME_PROXIES:
        errors.append('%s is supported for %s.type %s in this release, not %s (give tls.certificate and tls.key)'
                      % (field, prefix, ', '.join(ACME_PROXIES), kind))
    unknown = sorted(set(acme) - {'email', 'directory', 'ca_cert', 'renew_days'})
    if unknown:
        errors.append('%s.%s is not a setting (valid: email, directory, ca_cert, renew_days)' % (field, unknown[0]))
    days = _number(acme.get('renew_days', 30))
    if days is None or days != int(days) or not 1 <= days <= 3650:
        errors.append('%s.renew_days %s is invalid: use whole days from 1 to 3650' % (field, _show(acme.get('renew_days'))))
    if not isinstance(acme.get('email'), str) or not EMAIL_RE.fullmatch(acme['email']):
        errors.append('%s.email %s is invalid: the account email the ACME server knows you by, such as ops@example.com'
                      % (field, _show(acme.get('email'))))
    directory = acme.get('directory')
    if not isinstance(directory, str) or not directory.startswith('https://') or any(c in directory for c in ' \t\r\n"\''):
        errors.append('%s.directory %s is invalid: the https:// URL of the ACME directory, such as '
                      'https://acme-v02.api.letsencrypt.org/directory' % (field, _show(directory)))
    if acme.get('ca_cert') is not None:
        errors.append(pem_error(field + '.ca_cert', acme['ca_cert'], 'certificate'))
    if tls.get('certificate') is not None or tls.get('key') is not None:
        errors.append('%s and %s.tls.certificate/key are exclusive: the ACME server issues the certificate' % (field, prefix))
    if not proxy.get('hosts'):
        errors.append('%s needs %s.hosts: the names to obtain a certificate for' % (field, prefix))
    if not tls.get('redirect_from'):
        errors.append('%s needs %s.tls.redirect_from: the plain listener (for example 0.0.0.0:80) that answers the '
                      "ACME server's HTTP-01 challenge" % (field, prefix))
    return errors


def front_door_errors(prefix, proxy):
    """proxy.hosts, path_prefix, strip_prefix and tls: names, paths and PEM that land in HAProxy's config."""
    given = [k for k in FRONT_DOOR_KEYS if proxy.get(k) not in (None, '', [], {})]
    if not given:
        return []
    errors = []
    kind = proxy.get('type') or 'haproxy'
    if kind not in FRONT_DOOR_PROXIES:
        errors.append('%s.%s is supported for %s.type %s, not %s' % (
            prefix, given[0], prefix, ', '.join(FRONT_DOOR_PROXIES), kind))
    if proxy.get('host') is not None:
        errors.append('%s.%s and %s.host (a shared load balancer) do not go together in this release'
                      % (prefix, given[0], prefix))
    if 'hosts' in given:
        errors.append(host_names_error(prefix + '.hosts', proxy['hosts']))
    prefix_value = proxy.get('path_prefix')
    if 'path_prefix' in given and (not isinstance(prefix_value, str) or not PATH_PREFIX_RE.fullmatch(prefix_value)):
        errors.append('%s.path_prefix %s is invalid: use a path such as /api (segments of letters, digits, ".", "_", '
                      '"~" and "-")' % (prefix, _show(prefix_value)))
    if proxy.get('strip_prefix') is not None and not isinstance(proxy['strip_prefix'], bool):
        errors.append('%s.strip_prefix %s is invalid: use true or false' % (prefix, _show(proxy['strip_prefix'])))
    tls = proxy.get('tls')
    if 'tls' in given:
        if not isinstance(tls, dict):
            return errors + ['%s.tls is invalid: use a mapping with certificate and key' % prefix]
        unknown = sorted(set(tls) - {'certificate', 'key', 'redirect_from', 'acme'})
        if unknown:
            errors.append('%s.tls.%s is not a setting (valid: certificate, key, redirect_from, acme)' % (prefix, unknown[0]))
        if tls.get('acme') is not None:
            errors += acme_errors(prefix, proxy, tls)
        else:
            errors.append(pem_error(prefix + '.tls.certificate', tls.get('certificate'), 'certificate'))
            errors.append(pem_error(prefix + '.tls.key', tls.get('key'), 'key'))
            errors.append(key_mismatch_error(prefix, tls))
        if tls.get('redirect_from') is not None:
            errors.append(address_error(prefix + '.tls.redirect_from', tls['redirect_from']))
            if tls['redirect_from'] == proxy.get('listen'):
                errors.append('%s.tls.redirect_from is %s.listen itself: give the plain listener, such as 0.0.0.0:80'
                              % (prefix, prefix))
    return [e for e in errors if e]


def proxy_errors(prefix, proxy, route):
    """Checks of the proxy settings that land in a proxy's config or commands."""
    errors = front_door_errors(prefix, proxy)
    if proxy.get('listen') is not None:
        errors.append(address_error(prefix + '.listen', proxy['listen']))
    errors.append(route_error(prefix + '.route', route))
    for key in ('container_name',):
        if proxy.get(key) is not None:
            errors.append(route_error('%s.%s' % (prefix, key), proxy[key]))
    for key in ('admin_url', 'url'):
        value = proxy.get(key)
        if value is not None and (not isinstance(value, str) or any(ch in value for ch in ' \t\r\n\0')):
            errors.append('%s.%s %s is invalid: a URL without spaces or line breaks' % (prefix, key, _show(value)))
    return [e for e in errors if e]


PULL_POLICIES = ('missing', 'always', 'never')
FAILURE_ACTIONS = ('stop', 'rollback')
SERIAL_PERCENT_RE = re.compile(r'([1-9][0-9]?|100)%')


def _number(value):
    """value as a float when it is a finite number (or a numeric string, as -e gives them), else None: NaN
    passes every comparison's test and infinity never ends a wait, so neither is a valid setting."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def serial_error(field, value):
    """Ansible's `serial`: a host count (0 = all at once), a percentage, or a list of those."""
    entries = value if isinstance(value, list) else [value]
    for entry in entries:
        number = _number(entry)
        if isinstance(entry, str) and SERIAL_PERCENT_RE.fullmatch(entry):
            continue
        if number is not None and number == int(number) and number >= 0 and not (isinstance(value, list) and number == 0):
            continue
        return ('%s %s is invalid: use a host count (0 = all hosts in one batch), a percentage such as "25%%", or a '
                'list of those such as [1, "50%%"]' % (field, _show(value)))
    if isinstance(value, list) and not value:
        return '%s is an empty list: give at least one batch size' % field
    return None


def rollout_errors(r, prefix='cutover_'):
    """Errors in a rollout's settings (cutover_serial and friends). Pure."""
    errors = []
    if 'serial' in r:
        errors.append(serial_error(prefix + 'serial', r['serial']))
    if 'max_fail_percentage' in r:
        number = _number(r['max_fail_percentage'])
        if number is None or not 0 <= number <= 100:
            errors.append('%smax_fail_percentage %s is invalid: use a number from 0 to 100'
                          % (prefix, _show(r['max_fail_percentage'])))
    if 'batch_pause' in r:
        number = _number(r['batch_pause'])
        if number is None or not 0 <= number <= 86400:
            errors.append('%sbatch_pause %s is invalid: use seconds from 0 to 86400' % (prefix, _show(r['batch_pause'])))
    if 'failure_action' in r and r['failure_action'] not in FAILURE_ACTIONS:
        errors.append('%sfailure_action %s is invalid (valid: %s)'
                      % (prefix, _show(r['failure_action']), ', '.join(FAILURE_ACTIONS)))
    if r.get('id') not in (None, ''):
        errors.append(release_error(prefix + 'rollout_id', r['id']))
    return [e for e in errors if e]


def shared_proxy_errors(v, prefix='cutover_'):
    """A shared load balancer (proxy.host): an inventory host running HAProxy that can reach this host's
    published containers, and an inventory hostname fit for HAProxy server names. Pure."""
    proxy = v.get('proxy') or {}
    lb = proxy.get('host')
    if lb is None:
        return []
    errors = []
    inventory = v.get('inventory_hosts')
    if not isinstance(lb, str) or (inventory is not None and lb not in inventory):
        errors.append('%sproxy.host %s is not a host of the inventory: name the load-balancer host as the inventory '
                      'does' % (prefix, _show(lb)))
    kind, runtime = proxy.get('type') or 'haproxy', proxy.get('runtime') or 'auto'
    if kind != 'haproxy' or runtime == 'container':
        errors.append('%sproxy.host (a shared load balancer) needs proxy.type haproxy and proxy.runtime auto, systemd or host, got %s/%s'
                      % (prefix, kind, runtime))
    host = v.get('host')
    if host is not None:
        err = route_error('the inventory hostname (its server names on the load balancer)', host)
        if err:
            errors.append(err)
        address = v.get('publish_address') or '127.0.0.1'
        if lb != host and (address == 'localhost' or address.startswith('127.') or address == '::1'):
            errors.append('%spublish_address %s is a loopback address: the load balancer %s cannot reach the containers '
                          'of %s; set it to the address of %s the load balancer reaches' % (prefix, _show(address), lb, host, host))
    return errors


HEALTH_KEYS = ('path', 'status', 'body_regex', 'interval', 'timeout', 'successes')
ENGINE_TYPES = ('docker', 'podman')
PROXY_KINDS = ('haproxy', 'caddy', 'nginx', 'npm', 'none')
PROXY_RUNTIMES = ('auto', 'systemd', 'container', 'host')
# numeric settings: (lowest allowed, whether the lowest itself is allowed)
NUMBER_RANGES = dict(stop_timeout=(0, True), drain_timeout=(0, True), keep_releases=(0, True), keep_images=(0, True), standby=(0, True), lock_wait=(0, True),
                     lock_lease=(0, True), liveness_window=(0, False), history_limit=(1, True),
                     gate_timeout=(0, False), release_timeout=(0, False))


# the gate's numbers: (lowest allowed, whether the lowest itself is allowed, whole numbers only)
HEALTH_RANGES = dict(interval=(0, False, False), timeout=(0, False, False), successes=(1, True, True))


def health_value_errors(health, prefix='cutover_'):
    """The health settings' values, checked before green starts (the gate would refuse them only after). Pure."""
    errors = []
    for name, (low, inclusive, whole) in sorted(HEALTH_RANGES.items()):
        if name not in health:
            continue
        number = _number(health[name])
        if number is None or number < low or (number == low and not inclusive) or (whole and number != int(number)):
            errors.append('%shealth.%s %s is invalid: use a %s %s %s' % (
                prefix, name, _show(health[name]), 'whole number' if whole else 'number',
                'of at least' if inclusive else 'above', low))
    status = health.get('status')
    if status is not None:
        codes = status if isinstance(status, list) else [status]
        if not codes or not all(_number(c) is not None and 100 <= _number(c) <= 599 and _number(c) == int(_number(c))
                                for c in codes):
            errors.append('%shealth.status %s is invalid: use an HTTP status code or a list of them (100-599)'
                          % (prefix, _show(status)))
    return errors


def settings_errors(v, prefix='cutover_'):
    """Kinds, keys and ranges of the settings every role shares. Pure."""
    errors = []
    unknown = sorted(set(v.get('health') or {}) - set(HEALTH_KEYS))
    if unknown:
        errors.append('%shealth has unknown keys %s (valid: %s)' % (prefix, unknown, ', '.join(HEALTH_KEYS)))
    errors += health_value_errors(v.get('health') or {}, prefix)
    proxy = v.get('proxy') or {}
    kind, runtime = proxy.get('type') or 'haproxy', proxy.get('runtime') or 'auto'
    if kind not in PROXY_KINDS:
        errors.append('%sproxy.type %s is invalid (valid: %s)' % (prefix, _show(kind), ', '.join(PROXY_KINDS)))
    if runtime not in PROXY_RUNTIMES:
        errors.append('%sproxy.runtime %s is invalid (valid: %s)' % (prefix, _show(runtime), ', '.join(PROXY_RUNTIMES)))
    engine = v.get('engine') or {}
    if not isinstance(engine, dict):
        errors.append('%sengine must be a mapping with type and host' % prefix)
    elif (engine.get('type') or 'docker') not in ENGINE_TYPES:
        errors.append('%sengine.type %s is invalid (valid: %s)' % (prefix, _show(engine.get('type')), ', '.join(ENGINE_TYPES)))
    for name, value in sorted((v.get('numbers') or {}).items()):
        low, inclusive = NUMBER_RANGES.get(name, (0, True))
        number = _number(value)
        if number is None or number < low or (number == low and not inclusive):
            errors.append('%s%s %s is invalid: use a number %s %s' % (prefix, name, _show(value),
                                                                      'of at least' if inclusive else 'above', low))
    return errors


def canary_errors(canary, prefix='cutover_canary'):
    """What is wrong with the canary settings (a list of messages naming the field). Pure."""
    if not isinstance(canary, dict):
        return ['%s must be a mapping with the keys %s' % (prefix, ', '.join(CANARY_DEFAULTS))]
    errors = []
    unknown = sorted(set(canary) - set(CANARY_DEFAULTS))
    if unknown:
        errors.append('%s has unknown keys %s (valid: %s)' % (prefix, unknown, ', '.join(CANARY_DEFAULTS)))
    steps = canary.get('steps', CANARY_DEFAULTS['steps'])
    numbers = [_number(s) for s in steps] if isinstance(steps, list) else [None]
    if not steps or None in numbers or any(n != int(n) or not 1 <= n <= 99 for n in numbers) \
            or numbers != sorted(set(numbers)):
        errors.append('%s.steps %r is invalid: use increasing whole percentages of 1-99 for green, such as [10, 50]'
                      % (prefix, steps))
    ranges = dict(interval=(0, False, None), min_success_rate=(0, True, 100), max_success_drop=(0, True, 100),
                  max_response_ms=(0, False, None), min_requests=(0, True, None))
    for key, (low, inclusive, high) in ranges.items():
        value = canary.get(key, CANARY_DEFAULTS[key])
        n = _number(value)
        if n is None or n < low or (n == low and not inclusive) or (high is not None and n > high):
            errors.append('%s.%s %r is invalid: use a number %s %s%s' % (
                prefix, key, value, 'of at least' if inclusive else 'above', low, ' and at most %s' % high if high else ''))
    return errors


def release_command_error(field, command):
    """None, or what is wrong with a release command: a non-empty string (run by sh -c) or list of strings. Pure."""
    if isinstance(command, str) and command.strip():
        return None
    if isinstance(command, list) and command and all(isinstance(a, str) for a in command) and command[0].strip():
        return None
    return ('%s %s is invalid: use a command line (a string, run by sh -c) or a non-empty list of strings, '
            'such as "bin/rails db:migrate" or ["python", "manage.py", "migrate"]' % (field, _show(command)))


def watch_errors(watch, prefix='cutover_watch'):
    """What is wrong with the watch settings (a list of messages naming the field). Pure."""
    if not isinstance(watch, dict):
        return ['%s must be a mapping with the keys %s (or {} for no watch)' % (prefix, ', '.join(WATCH_DEFAULTS))]
    errors = []
    unknown = sorted(set(watch) - set(WATCH_DEFAULTS))
    if unknown:
        errors.append('%s has unknown keys %s (valid: %s)' % (prefix, unknown, ', '.join(WATCH_DEFAULTS)))
    ranges = dict(seconds=(0, False, 86400, False), min_success_rate=(0, True, 100, False),
                  max_response_ms=(0, False, None, False), min_requests=(0, True, None, True))
    for key, (low, inclusive, high, whole) in ranges.items():
        value = watch.get(key, WATCH_DEFAULTS[key])
        n = _number(value)
        if n is None or n < low or (n == low and not inclusive) or (high is not None and n > high) \
                or (whole and n != int(n)):
            errors.append('%s.%s %s is invalid: use a %s %s %s%s' % (
                prefix, key, _show(value), 'whole number' if whole else 'number', 'of at least' if inclusive else 'above',
                low, ' and at most %s' % high if high else ''))
    return errors


MAX_REPLICAS = 32
ROLLING_DEFAULTS = dict(batch=1, delay=0, failure_action='rollback')
ROLLING_FAILURE_ACTIONS = ('rollback', 'pause')


def replicas_errors(v, prefix='cutover_'):
    """cutover_replicas: a whole number 1-32, and above 1 a proxy that spreads requests over several upstreams on
    the host. Pure."""
    value = v.get('replicas')
    if value is None:
        return []
    n = _number(value)
    if n is None or n != int(n) or not 1 <= n <= MAX_REPLICAS:
        return ['%sreplicas %s is invalid: use a whole number from 1 to %d' % (prefix, _show(value), MAX_REPLICAS)]
    if n == 1:
        return []
    errors = []
    proxy = v.get('proxy') or {}
    kind = proxy.get('type') or 'haproxy'
    if kind in ('npm', 'none'):
        why = 'forwards to one host:port' if kind == 'npm' else 'has no route'
        errors.append('%sreplicas %d needs a proxy that spreads requests over the replicas; %sproxy.type %s %s (valid '
                      'with replicas: haproxy, nginx, caddy)' % (prefix, n, prefix, kind, why))
    if 'host' in proxy:
        errors.append('%sreplicas %d with a shared load balancer (%sproxy.host) is not supported yet: one '
                      'container per app host there' % (prefix, n, prefix))
    source = v.get('source') if isinstance(v.get('source'), dict) else {}
    if source.get('type') == 'compose':
        errors.append('%sreplicas %d with %ssource type compose: scale the compose service itself' % (prefix, n, prefix))
    return errors


def rolling_errors(rolling, replicas, prefix='cutover_rolling'):
    """What is wrong with the rolling settings (a list of messages naming the field). Pure."""
    if not isinstance(rolling, dict):
        return ['%s must be a mapping with the keys %s' % (prefix, ', '.join(ROLLING_DEFAULTS))]
    errors = []
    unknown = sorted(set(rolling) - set(ROLLING_DEFAULTS))
    if unknown:
        errors.append('%s has unknown keys %s (valid: %s)' % (prefix, unknown, ', '.join(ROLLING_DEFAULTS)))
    batch = _number(rolling.get('batch', 1))
    top = _number(replicas) or 1
    if batch is None or batch != int(batch) or not 1 <= batch <= top:
        errors.append('%s.batch %s is invalid: use a whole number from 1 to cutover_replicas (%d)'
                      % (prefix, _show(rolling.get('batch')), top))
    delay = _number(rolling.get('delay', 0))
    if delay is None or not 0 <= delay <= 3600:
        errors.append('%s.delay %s is invalid: use seconds from 0 to 3600' % (prefix, _show(rolling.get('delay'))))
    if rolling.get('failure_action', 'rollback') not in ROLLING_FAILURE_ACTIONS:
        errors.append('%s.failure_action %s is invalid (valid: %s)'
                      % (prefix, _show(rolling.get('failure_action')), ', '.join(ROLLING_FAILURE_ACTIONS)))
    return errors


def deploy_input_errors(v, prefix='cutover_'):
    """Every error in a deploy's inputs (the role variables without their prefix). Pure."""
    def f(name):
        return prefix + name
    errors = []
    err = service_error(v.get('service'))
    if err:
        errors.append('%s: %s' % (f('service'), err))
    errors.append(release_error(f('release'), v.get('release')))
    proxy = v.get('proxy') or {}
    if (proxy.get('type') or 'haproxy') != 'none':
        errors += proxy_errors(f('proxy'), proxy, proxy.get('route') or v.get('service'))
    for entry in v.get('volumes') or []:
        errors.append(volume_error(f('volumes'), entry))
    errors.append(env_error(f('env'), v.get('env') or {}, secret=True))
    errors.append(env_error(f('public_env'), v.get('public_env') or {}))
    errors.append(labels_error(f('labels'), v.get('labels') or {}))
    health = v.get('health') or {}
    errors.append(http_path_error(f('health') + '.path', health.get('path')))
    errors.append(regex_error(f('health') + '.body_regex', health.get('body_regex')))
    if v.get('pull') is not None and v['pull'] not in PULL_POLICIES:
        errors.append('%s %s is invalid (valid: %s)' % (f('pull'), _show(v['pull']), ', '.join(PULL_POLICIES)))
    if v.get('publish_address') is not None:
        address = v['publish_address']
        if not isinstance(address, str) or host_error(address):
            errors.append('%s %s is invalid: use the IP address (or DNS name) the proxy reaches this host\'s '
                          'containers on, such as 127.0.0.1 or 10.0.0.11' % (f('publish_address'), _show(address)))
    errors += rollout_errors(v.get('rollout') or {}, prefix)
    errors += shared_proxy_errors(v, prefix)
    errors += settings_errors(v, prefix)
    errors += source_errors(v.get('source'), f('source'))
    kind = (v.get('source') or {}).get('type') if isinstance(v.get('source'), dict) else None
    if kind in ('git', 'compose') and v.get('image') not in (None, ''):
        errors.append('%s and %s type %s are exclusive: the %s says what runs' % (
            f('image'), f('source'), kind, 'repository' if kind == 'git' else 'compose project'))
    if v.get('canary') is not None:
        errors += canary_errors(v['canary'], f('canary'))
    if v.get('release_command') is not None:
        errors.append(release_command_error(f('release_command'), v['release_command']))
        if kind == 'compose':
            errors.append('%s runs a one-off container from the release\'s image; with %s type compose there is '
                          'no one image: run it as a compose service instead' % (f('release_command'), f('source')))
    errors += replicas_errors(v, prefix)
    if v.get('rolling') not in (None, {}):
        errors += rolling_errors(v['rolling'], v.get('replicas'), f('rolling'))
    watch = v.get('watch')
    if watch not in (None, {}):
        errors += watch_errors(watch, f('watch'))
        kind_of_proxy = proxy.get('type') or 'haproxy'
        if kind_of_proxy != 'haproxy':
            errors.append('%s reads HAProxy\'s per-server counters of the new release; %s.type %s has none to read: '
                          'use HAProxy, or leave %s unset' % (f('watch'), f('proxy'), kind_of_proxy, f('watch')))
    return [e for e in errors if e]


# One argument spec for the validate_inputs module and its action plugin (raw types: the checks
# above judge the values as the user wrote them, before any conversion).
ARGUMENT_SPEC = dict(
    service=dict(type='raw', required=True),
    release=dict(type='raw'),
    proxy=dict(type='raw', default={}),
    volumes=dict(type='raw', default=[]),
    env=dict(type='raw', default={}, no_log=True),
    public_env=dict(type='raw', default={}),
    labels=dict(type='raw', default={}),
    health=dict(type='raw', default={}),
    pull=dict(type='raw'),
    registry=dict(type='dict', options=pull_argument_spec()['registry']['options']),
    image=dict(type='raw'),
    publish_address=dict(type='raw'),
    rollout=dict(type='raw', default={}),
    canary=dict(type='raw'),
    release_command=dict(type='raw'),
    watch=dict(type='raw'),
    replicas=dict(type='raw'),
    rolling=dict(type='raw'),
    source=dict(type='raw'),
    engine=dict(type='raw', default={}),
    numbers=dict(type='raw', default={}),
    host=dict(type='raw'),
    inventory_hosts=dict(type='raw'),
    prefix=dict(type='str', default='cutover_'),
)


def check_inputs(args):
    """(ok, msg) for validate_inputs' arguments."""
    shapes = dict(proxy=dict, volumes=list, env=dict, public_env=dict, labels=dict, health=dict, rollout=dict,
                  numbers=dict)
    for key, kind in shapes.items():
        if args.get(key) is not None and not isinstance(args[key], kind):
            return False, '%s%s must be a %s' % (args['prefix'], key, 'mapping' if kind is dict else 'list')
    errors = deploy_input_errors(args, args['prefix'])
    errors += registry_errors(args.get('registry'), args.get('image') or None, args['prefix'] + 'registry')
    if errors:
        return False, 'invalid input, nothing was changed: ' + '; '.join(errors)
    return True, 'inputs are valid'
