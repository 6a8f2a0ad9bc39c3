# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every check of the deploy's inputs together (pure functions), for the settings step on the controller.

The settings step (and the validate_inputs action) run check_inputs() before anything touches a host. The checks
of single fields live in _checks.py and those of the front door's options in _proxy/front_door.py, so that a
module ships only the checks it uses; the modules run those on what they receive, since they can be called
directly. Each check returns None or a message naming the field, what it got and what is allowed. Patterns
are full matches (re.fullmatch: a trailing newline never slips through a `$`), and nothing a
proxy would parse as syntax (CR/LF, `;`, `{}`, whitespace, `/`) passes where it would land in a
proxy's config or command.
"""

from __future__ import annotations

import re

from ansible_collections.cutover.deploy.plugins.module_utils._canary import DEFAULTS as CANARY_DEFAULTS, WATCH_DEFAULTS
from ansible_collections.cutover.deploy.plugins.module_utils._checks import (
    address_error, env_error, finite_number, host_error, http_path_error, labels_error, regex_error,
    release_command_error, release_error, route_error, shown, volume_error,
)
from ansible_collections.cutover.deploy.plugins.module_utils._naming import service_error
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.front_door import front_door_errors
from ansible_collections.cutover.deploy.plugins.module_utils._registry import pull_argument_spec, registry_errors
from ansible_collections.cutover.deploy.plugins.module_utils._source import source_errors


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
            errors.append('%s.%s %s is invalid: a URL without spaces or line breaks' % (prefix, key, shown(value)))
    return [e for e in errors if e]


PULL_POLICIES = ('missing', 'always', 'never')
FAILURE_ACTIONS = ('stop', 'rollback')
SERIAL_PERCENT_RE = re.compile(r'([1-9][0-9]?|100)%')


def serial_error(field, value):
    """Ansible's `serial`: a host count (0 = all at once), a percentage, or a list of those."""
    entries = value if isinstance(value, list) else [value]
    for entry in entries:
        number = finite_number(entry)
        if isinstance(entry, str) and SERIAL_PERCENT_RE.fullmatch(entry):
            continue
        if number is not None and number == int(number) and number >= 0 and not (isinstance(value, list) and number == 0):
            continue
        return ('%s %s is invalid: use a host count (0 = all hosts in one batch), a percentage such as "25%%", or a '
                'list of those such as [1, "50%%"]' % (field, shown(value)))
    if isinstance(value, list) and not value:
        return '%s is an empty list: give at least one batch size' % field
    return None


def rollout_errors(r, prefix='cutover_'):
    """Errors in a rollout's settings (cutover_serial and friends). Pure."""
    errors = []
    if 'serial' in r:
        errors.append(serial_error(prefix + 'serial', r['serial']))
    if 'max_fail_percentage' in r:
        number = finite_number(r['max_fail_percentage'])
        if number is None or not 0 <= number <= 100:
            errors.append('%smax_fail_percentage %s is invalid: use a number from 0 to 100'
                          % (prefix, shown(r['max_fail_percentage'])))
    if 'batch_pause' in r:
        number = finite_number(r['batch_pause'])
        if number is None or not 0 <= number <= 86400:
            errors.append('%sbatch_pause %s is invalid: use seconds from 0 to 86400' % (prefix, shown(r['batch_pause'])))
    if 'failure_action' in r and r['failure_action'] not in FAILURE_ACTIONS:
        errors.append('%sfailure_action %s is invalid (valid: %s)'
                      % (prefix, shown(r['failure_action']), ', '.join(FAILURE_ACTIONS)))
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
                      'does' % (prefix, shown(lb)))
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
                          'of %s; set it to the address of %s the load balancer reaches' % (prefix, shown(address), lb, host, host))
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
        number = finite_number(health[name])
        if number is None or number < low or (number == low and not inclusive) or (whole and number != int(number)):
            errors.append('%shealth.%s %s is invalid: use a %s %s %s' % (
                prefix, name, shown(health[name]), 'whole number' if whole else 'number',
                'of at least' if inclusive else 'above', low))
    status = health.get('status')
    if status is not None:
        codes = status if isinstance(status, list) else [status]
        numbers = [finite_number(c) for c in codes]
        if not codes or not all(n is not None and n == int(n) and 100 <= n <= 599 for n in numbers):
            errors.append('%shealth.status %s is invalid: use an HTTP status code or a list of them (100-599)'
                          % (prefix, shown(status)))
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
        errors.append('%sproxy.type %s is invalid (valid: %s)' % (prefix, shown(kind), ', '.join(PROXY_KINDS)))
    if runtime not in PROXY_RUNTIMES:
        errors.append('%sproxy.runtime %s is invalid (valid: %s)' % (prefix, shown(runtime), ', '.join(PROXY_RUNTIMES)))
    engine = v.get('engine') or {}
    if not isinstance(engine, dict):
        errors.append('%sengine must be a mapping with type and host' % prefix)
    elif (engine.get('type') or 'docker') not in ENGINE_TYPES:
        errors.append('%sengine.type %s is invalid (valid: %s)' % (prefix, shown(engine.get('type')), ', '.join(ENGINE_TYPES)))
    for name, value in sorted((v.get('numbers') or {}).items()):
        low, inclusive = NUMBER_RANGES.get(name, (0, True))
        number = finite_number(value)
        if number is None or number < low or (number == low and not inclusive):
            errors.append('%s%s %s is invalid: use a number %s %s' % (prefix, name, shown(value),
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
    numbers = [finite_number(s) for s in steps] if isinstance(steps, list) else [None]
    if not steps or None in numbers or any(n != int(n) or not 1 <= n <= 99 for n in numbers) \
            or numbers != sorted(set(numbers)):
        errors.append('%s.steps %r is invalid: use increasing whole percentages of 1-99 for green, such as [10, 50]'
                      % (prefix, steps))
    ranges = dict(interval=(0, False, None), min_success_rate=(0, True, 100), max_success_drop=(0, True, 100),
                  max_response_ms=(0, False, None), min_requests=(0, True, None))
    for key, (low, inclusive, high) in ranges.items():
        value = canary.get(key, CANARY_DEFAULTS[key])
        n = finite_number(value)
        if n is None or n < low or (n == low and not inclusive) or (high is not None and n > high):
            errors.append('%s.%s %r is invalid: use a number %s %s%s' % (
                prefix, key, value, 'of at least' if inclusive else 'above', low, ' and at most %s' % high if high else ''))
    return errors


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
        n = finite_number(value)
        if n is None or n < low or (n == low and not inclusive) or (high is not None and n > high) \
                or (whole and n != int(n)):
            errors.append('%s.%s %s is invalid: use a %s %s %s%s' % (
                prefix, key, shown(value), 'whole number' if whole else 'number', 'of at least' if inclusive else 'above',
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
    n = finite_number(value)
    if n is None or n != int(n) or not 1 <= n <= MAX_REPLICAS:
        return ['%sreplicas %s is invalid: use a whole number from 1 to %d' % (prefix, shown(value), MAX_REPLICAS)]
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
    batch = finite_number(rolling.get('batch', 1))
    top = finite_number(replicas) or 1
    if batch is None or batch != int(batch) or not 1 <= batch <= top:
        errors.append('%s.batch %s is invalid: use a whole number from 1 to cutover_replicas (%d)'
                      % (prefix, shown(rolling.get('batch')), top))
    delay = finite_number(rolling.get('delay', 0))
    if delay is None or not 0 <= delay <= 3600:
        errors.append('%s.delay %s is invalid: use seconds from 0 to 3600' % (prefix, shown(rolling.get('delay'))))
    if rolling.get('failure_action', 'rollback') not in ROLLING_FAILURE_ACTIONS:
        errors.append('%s.failure_action %s is invalid (valid: %s)'
                      % (prefix, shown(rolling.get('failure_action')), ', '.join(ROLLING_FAILURE_ACTIONS)))
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
        errors.append('%s %s is invalid (valid: %s)' % (f('pull'), shown(v['pull']), ', '.join(PULL_POLICIES)))
    if v.get('publish_address') is not None:
        address = v['publish_address']
        if not isinstance(address, str) or host_error(address):
            errors.append('%s %s is invalid: use the IP address (or DNS name) the proxy reaches this host\'s '
                          'containers on, such as 127.0.0.1 or 10.0.0.11' % (f('publish_address'), shown(address)))
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
