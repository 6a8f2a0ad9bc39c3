#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: validate_inputs
short_description: Check a deploy's inputs before anything touches a host
version_added: 1.0.0
description:
  - Checks the values that end up in container names, proxy configs, proxy commands and file names
    against strict full-match rules, and refuses the whole deploy with one message naming every bad
    field and what it accepts.
  - Service names, release ids, proxy routes, listen addresses (C(host:port), the host an IP address
    or a strict DNS name), volume specs, environment variable names, labels, the health path and the
    body regex (it must compile).
  - An action plugin of the same name runs the checks on the controller, so bad input never reaches
    a host. The modules run the same checks on what they receive.
  - O(registry) are the private registry settings (C(cutover_registry)); its password is never logged.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.pull.registry
options:
  service:
    description: Service name.
    type: raw
    required: true
  release:
    description: Release id (optional).
    type: raw
  proxy:
    description: The proxy settings (C(cutover_proxy)), including C(route) and C(listen).
    type: raw
    default: {}
  volumes:
    description: Volume specs.
    type: raw
    default: []
  env:
    description: Secret environment; only names are shown in messages.
    type: raw
    default: {}
  public_env:
    description: Environment that is not secret.
    type: raw
    default: {}
  labels:
    description: Extra container labels.
    type: raw
    default: {}
  health:
    description: The health probe settings (C(cutover_health)).
    type: raw
    default: {}
  pull:
    description: The image pull policy (C(cutover_pull)), one of C(missing), C(always), C(never).
    type: raw
  image:
    description: The image to deploy (C(cutover_image)), when known; checked against O(registry.url).
    type: raw
  publish_address:
    description: The address containers are published on (C(cutover_publish_address)), an IP address or DNS name.
    type: raw
  rollout:
    description:
      - A rollout's settings, each optional, checked when present (C(cutover_serial) and the others).
      - C(serial) a host count, a percentage such as C(25%) or a list of those; C(max_fail_percentage) 0-100;
        C(batch_pause) seconds 0-86400; C(failure_action) C(stop) or C(rollback); C(id) a rollout id.
    type: raw
    default: {}
  source:
    description:
      - The deploy's source (C(cutover_source)) without its credentials, checked when given. C(type) C(image), C(git)
        or C(compose); for git, C(repo) a URL or a path, C(ref) a branch, tag or commit, C(context) and C(dockerfile)
        paths inside the repository (no C(..), not absolute), C(build_args) a mapping of names; for compose, C(files),
        C(service), C(env) and C(project); no other keys. With C(type) C(git) or C(compose), O(image) must not be given.
    type: raw
  canary:
    description:
      - The canary settings (C(cutover_canary)), checked when given. C(steps) increasing whole percentages 1-99,
        C(interval) and C(max_response_ms) above 0, C(min_success_rate) and C(max_success_drop) 0-100,
        C(min_requests) at least 0; no other keys.
    type: raw
  release_command:
    description:
      - The release command (C(cutover_release_command)), checked when given. A non-empty command line or a
        non-empty list of strings; not with a compose source.
    type: raw
    version_added: 1.0.0
  watch:
    description:
      - The watch after the swap (C(cutover_watch)), checked when given and not empty. C(seconds) above 0 and at most
        86400, C(min_success_rate) 0-100, C(max_response_ms) above 0, C(min_requests) a whole number of at least 0; no
        other keys; HAProxy only.
    type: raw
    version_added: 1.0.0
  replicas:
    description:
      - The containers a release runs on the host (C(cutover_replicas)), checked when given. A whole number 1-32;
        above 1 not with Nginx Proxy Manager, no proxy, a shared load balancer or a compose source.
    type: raw
    version_added: 1.0.0
  rolling:
    description:
      - The rolling strategy's settings (C(cutover_rolling)), checked when given and not empty. C(batch) a whole number
        from 1 to the replicas, C(delay) seconds 0-3600, C(failure_action) C(rollback) or C(pause); no other keys.
    type: raw
    version_added: 1.0.0
  engine:
    description: The engine settings (C(cutover_engine)); C(type) must be C(docker) or C(podman).
    type: raw
    default: {}
  numbers:
    description:
      - Numeric settings by name without the prefix (C(stop_timeout), C(drain_timeout), C(keep_releases), C(keep_images), C(standby),
        C(lock_wait), C(lock_lease) at least 0; C(liveness_window), C(gate_timeout), C(release_timeout) above 0; C(history_limit)
        at least 1).
    type: raw
    default: {}
  host:
    description: The inventory hostname of the host being deployed (checked when C(proxy.host) names a shared load balancer).
    type: raw
  inventory_hosts:
    description: Every host of the inventory (C(groups.all)), to check that C(proxy.host) is one of them.
    type: raw
  prefix:
    description: Prefix of the field names in messages (the role variables' C(cutover_)).
    type: str
    default: cutover_
attributes:
  action:
    support: full
    description: Runs on the controller through its action plugin.
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
  idempotent:
    support: full
    description: Always returns C(changed=false).
'''

EXAMPLES = r'''
- name: Refuse bad input before anything touches the host
  cutover.deploy.validate_inputs:
    service: "{{ cutover_service }}"
    release: "{{ cutover_release }}"
    proxy: "{{ cutover_proxy }}"
    volumes: "{{ cutover_volumes }}"
    env: "{{ cutover_env }}"
'''

RETURN = r'''
msg:
  description: C(inputs are valid), or every problem found.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._source import mask_url_secret
from ansible_collections.cutover.deploy.plugins.module_utils._validate import ARGUMENT_SPEC, check_inputs


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    source = module.params['source']
    mask_url_secret(module, source.get('repo') if isinstance(source, dict) else None)
    ok, msg = check_inputs(module.params)
    if not ok:
        module.fail_json(msg=msg)
    module.exit_json(changed=False, msg=msg)


if __name__ == '__main__':
    main()
