#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: health_gate
short_description: Prove a container ready before traffic moves to it
version_added: 0.1.0
description:
  - Probes a container until it is ready, it dies, or O(timeout) passes.
  - Probe kinds are an HTTP readiness probe, a TCP connect, the engine's own HEALTHCHECK status,
    and, when no probe is configured, a liveness window (the container keeps running, neither
    restarting nor exited, for O(liveness_window) seconds).
  - Fails fast when the container exits or restarts instead of waiting out the timeout. A failure
    returns the last probe result, the container's state and exit code and its last 50 log lines.
  - It changes nothing, so it always reports C(changed=false).
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.lease
  - cutover.deploy.engine
options:
  container:
    description:
      - Name or id of the container to gate. A release's replicas are given as their names joined by commas
        (RV(cutover.deploy.green_container#module:container.name)), and each is gated in turn on its own upstream.
    type: str
    required: true
  upstream:
    description:
      - C(address:port) to probe, normally the RV(cutover.deploy.green_container#module:upstream) of
        M(cutover.deploy.green_container). Required for C(http) and C(tcp) probes.
    type: str
  probe:
    description:
      - Kind of probe. C(auto) picks C(http) when O(path) is set, else C(tcp) when O(upstream) is set and
        O(tcp) is true, else C(healthcheck) when the container has a HEALTHCHECK, else C(liveness).
    type: str
    default: auto
    choices: [auto, http, tcp, healthcheck, liveness]
  path:
    description: HTTP path of the readiness probe, for example C(/health).
    type: str
  tcp:
    description: With O(probe=auto), use a TCP connect when no O(path) is given.
    type: bool
    default: false
  status:
    description: HTTP status codes that count as ready.
    type: list
    elements: int
    default: [200]
  body_regex:
    description: Regular expression the HTTP body must match to count as ready.
    type: str
  probe_timeout:
    description: Seconds one probe may take.
    type: float
    default: 2
  interval:
    description: Seconds between probes.
    type: float
    default: 1
  successes:
    description: Consecutive successful probes needed.
    type: int
    default: 1
  timeout:
    description: Overall seconds before the gate fails.
    type: float
    default: 60
  liveness_window:
    description: Seconds the container must stay running when the probe is C(liveness).
    type: float
    default: 5
attributes:
  check_mode:
    support: full
    description: Check mode starts nothing, so there is no green to probe; the gate it would run is reported as skipped.
  diff_mode:
    support: none
    description: Changes nothing.
  idempotent:
    support: full
    description: Always C(changed=false).
'''

EXAMPLES = r'''
- name: Gate green on its readiness endpoint
  cutover.deploy.health_gate:
    container: "{{ green.container.name }}"
    upstream: "{{ green.upstream }}"
    path: /health
    status: [200, 204]
    successes: 2
    timeout: 60

- name: No probe configured, the container must stay up for 10 s
  cutover.deploy.health_gate:
    container: "{{ green.container.name }}"
    liveness_window: 10
'''

RETURN = r'''
probe:
  description: The probe kind that ran.
  returned: always
  type: str
  sample: http
passed:
  description: Whether the gate passed.
  returned: always
  type: bool
reason:
  description: Why it passed or failed.
  returned: always
  type: str
attempts:
  description: Probes made.
  returned: always
  type: int
elapsed:
  description: Seconds the gate took.
  returned: always
  type: float
last_probe:
  description: The last probe's result.
  returned: always
  type: str
container_state:
  description: Engine status of the container at the end.
  returned: always
  type: str
exit_code:
  description: The container's exit code (meaningful when it exited).
  returned: always
  type: int
logs:
  description: Last 50 lines of the container's log.
  returned: failure
  type: list
  elements: str
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._module import lease_option, renew_lease, require_finite_numbers

from ansible_collections.cutover.deploy.plugins.module_utils._engine import Engine, describe, engine_argument_spec
from ansible_collections.cutover.deploy.plugins.module_utils._naming import members
from ansible_collections.cutover.deploy.plugins.module_utils._health import (
    PROBE_KINDS, bounded_search, healthcheck_verdict, http_verdict, probe_http, probe_tcp, resolve_kind, run_gate,
)
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import split_upstream
from ansible_collections.cutover.deploy.plugins.module_utils._checks import http_path_error, regex_error


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine_argument_spec(),
            lease=lease_option(),
            container=dict(type='str', required=True),
            upstream=dict(type='str'),
            probe=dict(type='str', default='auto', choices=list(PROBE_KINDS)),
            path=dict(type='str'),
            tcp=dict(type='bool', default=False),
            status=dict(type='list', elements='int', default=[200]),
            body_regex=dict(type='str'),
            probe_timeout=dict(type='float', default=2),
            interval=dict(type='float', default=1),
            successes=dict(type='int', default=1),
            timeout=dict(type='float', default=60),
            liveness_window=dict(type='float', default=5),
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_finite_numbers(module)
    lease = renew_lease(module)
    for field in ('probe_timeout', 'interval', 'timeout', 'liveness_window', 'successes'):
        if p[field] <= 0:
            module.fail_json(msg='%s must be greater than 0, got %s' % (field, p[field]))
    err = regex_error('body_regex', p['body_regex']) or http_path_error('path', p['path'])
    if err:
        module.fail_json(msg=err)

    engine = Engine(module)
    names = members(p['container'])  # one container, or a release's replicas (names joined by commas)
    if module.check_mode:
        # check mode starts nothing, so green is not running yet: report the gate it would run
        container = engine.get_container(names[0]) if len(names) == 1 else None
        module.exit_json(changed=False, skipped=True, passed=True, probe=p['probe'], attempts=0, elapsed=0.0,
                         reason='check mode: %s would be gated (%s probe)' % (p['container'], p['probe']),
                         last_probe=None, container_state=container.status if container else None, exit_code=None)
    gated = []
    for name in names:
        container = engine.get_container(name)
        if container is None:
            module.fail_json(msg='container %s not found on the engine at %s (container)' % (name, engine.url))
        # a replica's own upstream: the one given is the set's, joined
        upstream = p['upstream'] if len(names) == 1 else describe(container)['upstream']
        gated.append(gate(module, engine, lease, name, container, upstream))
    out = gated[0] if len(gated) == 1 else dict(
        gated[-1], attempts=sum(g['attempts'] for g in gated), elapsed=round(sum(g['elapsed'] for g in gated), 3),
        reason='; '.join('%s: %s' % (n, g['reason']) for n, g in zip(names, gated)))
    module.exit_json(**out)


def gate(module, engine, lease, name, container, upstream):
    """Gate one container; its result, or fail the module with its last log lines."""
    p = module.params
    has_hc = bool(((container.attrs.get('Config') or {}).get('Healthcheck') or {}).get('Test'))
    kind = resolve_kind(p['probe'], bool(p['path']), bool(p['tcp'] and upstream), has_hc)
    host = port = None
    if kind in ('http', 'tcp'):
        try:
            host, port = split_upstream(upstream)
        except ValueError as exc:
            module.fail_json(msg='probe=%s needs upstream: %s' % (kind, exc))
    path = p['path'] or '/'

    def http_probe():
        status, body, error = probe_http(host, port, path, p['probe_timeout'])
        if error:
            return False, 'GET %s: %s' % (path, error)
        ok, detail = http_verdict(status, body, p['status'], p['body_regex'],
                                  lambda pattern, text: bounded_search(pattern, text, p['probe_timeout']))
        return ok, 'GET %s: %s' % (path, detail)

    def tcp_probe():
        return probe_tcp(host, port, p['probe_timeout'])

    def read_state():
        lease.renew(every=10)  # the gate can wait longer than the lease
        container.reload()
        return dict(container.attrs.get('State') or {}, RestartCount=container.attrs.get('RestartCount', 0))

    def healthcheck_probe():
        return healthcheck_verdict(read_state())

    # no probe: the liveness window alone gates
    probe = dict(http=http_probe, tcp=tcp_probe, healthcheck=healthcheck_probe).get(kind)
    result = run_gate(probe, read_state, time.monotonic, time.sleep, p['timeout'], p['interval'],
                      successes=p['successes'], liveness_window=p['liveness_window'])
    state = result['state']
    out = dict(changed=False, probe=kind, passed=result['passed'], reason=result['reason'],
               attempts=result['attempts'], elapsed=round(result['elapsed'], 3), last_probe=result['last_probe'],
               container_state=state.get('Status'), exit_code=state.get('ExitCode'))
    if not result['passed']:
        module.fail_json(msg='health gate failed for %s (%s probe): %s; last probe: %s'
                         % (name, kind, result['reason'], result['last_probe']),
                         logs=engine.logs_tail(container), **out)
    return out


if __name__ == '__main__':
    main()
