# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The settings step (the `settings` action plugin, on the controller): every input checked once, and the
values the roles read derived from the public variables in one place. Pure: the clock, the user and the
host's name come in as arguments."""

from __future__ import annotations

import uuid

from ansible_collections.cutover.deploy.plugins.module_utils._canary import DEFAULTS as CANARY_DEFAULTS, WATCH_DEFAULTS
from ansible_collections.cutover.deploy.plugins.module_utils._strategy import StrategyError, resolve_strategy
from ansible_collections.cutover.deploy.plugins.module_utils._validate import ARGUMENT_SPEC as INPUTS_SPEC, check_inputs

PODMAN_SOCKET = 'unix:///run/podman/podman.sock'
# ansible's to_uuid namespace, so a run id made here matches one the roles made before
ANSIBLE_UUID_NAMESPACE = uuid.UUID('361E6D51-FAEC-444A-9079-341386DA8E2E')
MIN_LOCK_LEASE = 120

# validate_inputs' spec, and what the deploy checks and the derivations add
ARGUMENT_SPEC = dict(
    INPUTS_SPEC,
    deploy=dict(type='bool', default=False),  # the deploy's own checks: image, container port, strategy
    # who decides HAProxy's check: a deploy's health settings, a rollback (a TCP connect), or nobody (status)
    proxy_check=dict(type='str', default='keep', choices=['keep', 'health', 'tcp']),
    container_port=dict(type='raw'),
    strategy=dict(type='raw', default=''),
    exclusive_volumes=dict(type='bool', default=False),
    run_id=dict(type='str'),
    rollout_id=dict(type='str'),
    awx_job_id=dict(type='raw'),
    initiator=dict(type='str'),
    state_dir=dict(type='raw'),
)


def deploy_errors(args):
    """The deploy's own checks (the image, the container port); each message names the variable."""
    errors = []
    kind = (args.get('source') or {}).get('type') or 'image'
    image = args.get('image')
    if kind == 'image' and not (isinstance(image, str) and image):
        errors.append('cutover_image must be an image reference such as registry.example.com/web:2.4.1 (or give '
                      'cutover_source type git or compose), got %r' % (image,))
    port = args.get('container_port')
    try:
        valid_port = not isinstance(port, bool) and 1 <= int(port) <= 65535
    except (TypeError, ValueError):
        valid_port = False
    if not valid_port:
        errors.append('cutover_container_port %s is invalid: use 1-65535' % (port,))
    return errors


def lock_lease(numbers, strategy, canary, watch=None):
    """The deploy lock's lease: cutover_lock_lease when set, else longer than any one step (each renews it;
    a canary or a watch on a shared load balancer runs there and cannot, so its steps count in full), at least
    120 s."""
    given = int(float(numbers.get('lock_lease') or 0))
    if given > 0:
        return given
    derived = float(numbers.get('drain_timeout', 30)) + 2 * float(numbers.get('stop_timeout', 10)) + 60
    if strategy == 'canary':
        canary = canary or {}
        derived += len(canary.get('steps') or CANARY_DEFAULTS['steps']) * float(canary.get('interval', CANARY_DEFAULTS['interval']))
    if watch:
        derived += float(watch.get('seconds', WATCH_DEFAULTS['seconds']))
    return max(MIN_LOCK_LEASE, int(derived))


def engine_args(engine):
    """The engine options cutover_engine sets (type podman: Podman's socket). The roles give them as per-module
    module_defaults, never as task arguments: a task argument would hide a play's module_defaults for
    group/cutover.deploy.engine (an AWX job template's) even when omitted."""
    engine = engine or {}
    if engine.get('host') is not None:
        return dict(engine_host=engine['host'])
    if (engine.get('type') or 'docker') == 'podman':
        return dict(engine_host=PODMAN_SOCKET)
    return {}


def proxy_check(proxy, health, decide, shared=False):
    """A run's {'check': ...} for HAProxy. decide: 'health', a deploy's: the health gate's HTTP GET when it probes
    HTTP, else a TCP connect, so a release that starts failing what the gate checked (a 5xx green in a canary) is
    taken out of the route; 'tcp', a rollback's: the release it returns to may not answer the health path of the
    one it leaves; 'keep' (status): none, the config keeps the check it has. A user's proxy.check wins, and on a
    shared load balancer none is derived: its one check covers every member, each on its own release mid-rollout.
    Pure."""
    health = health if isinstance(health, dict) else {}
    if decide == 'keep' or (proxy.get('type') or 'haproxy') != 'haproxy' or 'check' in proxy or shared:
        return {}
    if decide == 'tcp' or not health.get('path'):
        return {'check': dict(type='tcp')}
    status = health.get('status', 200)
    return {'check': dict(type='http', path=health['path'],
                          status=[int(s) for s in (status if isinstance(status, list) else [status])])}


# This run's own values: returned as `run_only`, never as facts. A fact cache (AWX's fact storage) keeps what a task
# returns as facts for later runs: it must hold neither cutover_proxy.password (Nginx Proxy Manager) nor a run id
# that a later run would take for its own (and with it the deploy lock of a run still going).
RUN_ONLY = ('_cutover_run_id', '_cutover_rollout_id', '_cutover_lease', '_cutover_proxy')


def split_run_only(facts):
    """(facts to cache, this run's own values). Pure."""
    return {k: v for k, v in facts.items() if k not in RUN_ONLY}, {k: facts[k] for k in RUN_ONLY if k in facts}


def resolve(args, now, user):
    """(errors, facts): every input checked, and the values the roles read. now: a UTC datetime; user: the
    controller's user, for the initiator when no AWX user is given."""
    ok, msg = check_inputs(args)
    errors = [] if ok else [msg]
    strategy = None
    if args['deploy']:
        errors += deploy_errors(args)
        source = (args.get('source') or {}).get('type') or 'image'
        try:
            strategy = resolve_strategy(str(args.get('strategy') or ''), 'compose' if source == 'compose' else 'image',
                                        args['exclusive_volumes'], (args.get('proxy') or {}).get('type') or 'haproxy',
                                        int(args.get('replicas') or 1))
        except StrategyError as exc:
            errors.append(str(exc))
        engine_type = (args.get('engine') or {}).get('type') or 'docker'
        if strategy == 'blue-green' and source == 'compose' and engine_type == 'podman':
            errors.append('cutover_strategy blue-green with cutover_source type compose needs docker-compose: '
                          'podman-compose cannot add a second container of a service beside the first; use '
                          'cutover_strategy recreate (or "") with Podman')
        if strategy == 'rolling' and args.get('watch') not in (None, {}):
            errors.append('cutover_watch with cutover_strategy rolling is not supported yet (each batch is gated before '
                          'the next takes the route): use blue-green with cutover_replicas, or leave cutover_watch unset')
        if strategy == 'recreate' and args.get('watch') not in (None, {}):
            errors.append('cutover_watch swaps back to the release it replaced, which recreate stops before the new one '
                          'starts: use cutover_strategy blue-green or canary, or leave cutover_watch unset')
    if errors:
        return errors, {}
    proxy, host = dict(args.get('proxy') or {}), args.get('host')
    shared = 'host' in proxy
    numbers = args.get('numbers') or {}
    run_id = args.get('run_id') or str(uuid.uuid5(ANSIBLE_UUID_NAMESPACE, now.isoformat() + str(host)))
    rollout_id = args.get('rollout_id') or (
        'awx-job-%s' % args['awx_job_id'] if args.get('awx_job_id') not in (None, '') else
        now.strftime('%Y%m%dT%H%M%SZ-') + str(uuid.uuid5(ANSIBLE_UUID_NAMESPACE, str(host)))[:6])
    lease = lock_lease(numbers, str(args.get('strategy') or ''), args.get('canary'), args.get('watch'))
    facts = dict(
        _cutover_engine_args=engine_args(args.get('engine')),
        _cutover_proxy_host=proxy.get('host', host),
        _cutover_proxy_shared=shared,
        _cutover_proxy_remote=proxy.get('host', host) != host,
        # the proxy options the steps take: without route and host, with this host's member name on a shared one
        _cutover_proxy=dict({k: v for k, v in proxy.items() if k not in ('route', 'host')},
                            **({'member': host} if shared else {}), **proxy_check(proxy, args.get('health'), args['proxy_check'], shared),
                            # HAProxy's backend gets a pair of slots per replica
                            **({'replicas': int(args['replicas'])} if int(args.get('replicas') or 1) > 1 else {})),
        _cutover_proxy_type=proxy.get('type') or 'haproxy',
        _cutover_source_type=(args.get('source') or {}).get('type') or 'image',
        _cutover_route=str(proxy.get('route') or args.get('service')),
        _cutover_run_id=run_id,
        _cutover_rollout_id=rollout_id,
        _cutover_lock_lease=lease,
        _cutover_initiator=args.get('initiator') or user or 'unknown',
        _cutover_lease=dict(state_dir=args.get('state_dir'), service=args.get('service'), run_id=run_id, seconds=lease),
    )
    if strategy is not None:
        facts['cutover_strategy_result'] = dict(requested_strategy=str(args.get('strategy') or ''),
                                                effective_strategy=strategy)
    return [], facts
