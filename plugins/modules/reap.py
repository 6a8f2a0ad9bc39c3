#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: reap
short_description: Remove a service's old containers after a cutover
version_added: 0.1.0
description:
  - Finds a service's containers by their C(io.cutover.service) label and removes the old ones with
    a graceful stop (SIGTERM, then SIGKILL after O(stop_timeout)).
  - Never touches a container named in O(keep), and refuses to remove the container the host's
    state file (O(state_dir)) marks live, whatever it is asked.
  - O(keep_stopped) keeps the N most recent old containers, stopped, for a fast rollback.
  - With O(live), it first records that release as live in the state file (what
    M(cutover.deploy.release) C(action=live) does) and only then removes anything, so one step
    persists green and retires blue in the load-bearing order, and a crash in between leaves a
    state that names the new container.
  - With O(live), the old containers' graceful stop leaves the critical path. Stopped ones are removed
    at once. Running ones are recorded in the state file as C(retiring), each with a deadline (the stop
    timeout plus 5 s), and a detached helper process on the host has the engine stop them (SIGTERM,
    then SIGKILL after O(stop_timeout)) and remove those not kept for rollback. The module returns
    without waiting for them. Whatever runs next (M(cutover.deploy.prepare), M(cutover.deploy.reconcile))
    drops the finished entries and kills a container still running past its deadline.
  - With O(keep_images), it also removes the images M(cutover.deploy.image_build) made for the service
    (tagged C(<service>:<commit>)) that no container of the service uses, keeping the live release's and those
    of the O(keep_images) newest earlier releases that went live. It removes only those tags (another name
    the image has keeps it), and never an image built in the last O(image_grace) seconds.
  - O(unlock) and O(metrics) end the run in the same step; the host's metrics file is written and the deploy
    lock named by O(lease) is released once everything else is done.
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.release_record
  - cutover.deploy.lease
  - cutover.deploy.engine
options:
  service:
    description: Service whose containers to reap.
    type: str
    required: true
  keep:
    description:
      - Names or ids of containers never to touch, normally the new live container. A release with replicas is
        given as its containers' names joined by commas.
    type: list
    elements: str
    default: []
  keep_stopped:
    description: How many of the most recent old releases to keep, stopped, for rollback (all the replicas of each).
    type: int
    default: 0
  stop_timeout:
    description: Seconds between SIGTERM and SIGKILL when stopping a container.
    type: int
    default: 10
  only:
    description:
      - Limit reaping to these container names or ids (for example a green that failed its gate; replicas as
        their names joined by commas). The live container stays protected.
    type: list
    elements: str
  mode:
    description:
      - C(remove) stops and removes old containers (keeping O(keep_stopped) of them stopped).
      - C(stop) only stops every container of the service except O(keep), the live one included, and
        removes nothing. The recreate strategy uses it before starting the new container.
    type: str
    default: remove
    choices: [remove, stop]
  background:
    description:
      - Stop the containers in the background (recorded as retiring in the state, as after a cutover) and return at
        once. The rolling strategy uses it for the old replicas a batch took the route from, which no request
        depends on any more. O(live) implies it.
    type: bool
    default: false
    version_added: 1.0.0
  standby:
    description:
      - With O(live), seconds the release it replaces stays running, unrouted, as the standby (recorded in the
        state file), so a rollback inside that window is one swap with no container start. With 0 (the
        default) it is stopped at once (and kept per O(keep_stopped)). A later run retires it once the window is over
        (M(cutover.deploy.reconcile)). Only a release that succeeded becomes the standby, never one a rollback left.
      - The standby of an earlier run is left running while its own window lasts.
    type: int
    default: 0
  state_dir:
    description:
      - Folder of the host's Cutover state files. The container the service's state marks live is
        never removed. A missing state file protects nothing beyond O(keep).
    type: path
    default: /var/lib/cutover
  live:
    description:
      - The release to record as live before anything is removed.
    type: dict
    suboptions:
      number:
        description:
          - Its release number (begun by M(cutover.deploy.green_container)'s O(cutover.deploy.green_container#module:record)
            or C(release action=begin)).
          - Omitted, O(record) begins the release here (a rollback to the running standby, which starts no container;
            version 1.1.0).
        type: int
      container:
        description: Its container's name.
        type: str
        required: true
      upstream:
        description: Its upstream C(address:port).
        type: str
        required: true
      rolled_back_from:
        description: For a rollback, the release number being left; it is marked C(rolled_back).
        type: int
  keep_images:
    description:
      - Prune the service's built images (see above), keeping the images of this many earlier releases besides
        the live one and those in use. Unset, no image is touched.
    type: int
  image_grace:
    description:
      - Seconds a newly built image is safe from O(keep_images), because a build happens before its deploy takes
        the lock.
    type: int
    default: 3600
  unlock:
    description:
      - Release the deploy lock named by O(lease) at the end (the last step of a deploy or rollback).
    type: bool
    default: false
  metrics:
    description:
      - Write the host's metrics file at the end (what M(cutover.deploy.metrics) does), after the state is written.
    type: dict
    suboptions:
      path:
        description: The metrics file.
        type: path
        required: true
      steps:
        description: Seconds each step of this run took (see M(cutover.deploy.metrics)).
        type: dict
        default: {}
attributes:
  check_mode:
    support: full
    description: Reports what it would stop and remove.
  diff_mode:
    support: full
    description: Lists the service's containers before and after.
  idempotent:
    support: full
    description: A second run finds nothing old and reports C(changed=false).
'''

EXAMPLES = r'''
- name: Remove old containers, keeping the previous release stopped for rollback
  cutover.deploy.reap:
    service: web
    keep: ["{{ green.container.name }}"]
    keep_stopped: 1
'''

RETURN = r'''
removed:
  description: Names of the containers removed.
  returned: success
  type: list
  elements: str
stopped:
  description: Names of the containers stopped and kept for rollback.
  returned: success
  type: list
  elements: str
kept:
  description: Names of the containers left in place (keep, live, parked).
  returned: success
  type: list
  elements: str
live:
  description: The container the state file marks live, if any.
  returned: success
  type: str
live_recorded:
  description: Whether O(live) changed the state file (false when that release was already live there).
  returned: success
  type: bool
number:
  description: The release number O(live) recorded live (begun here with O(record)); null without O(live).
  returned: success
  type: int
pruned_images:
  description: Tags of built images removed (O(keep_images)); in check mode, those it would remove.
  returned: success
  type: list
  elements: str
retiring:
  description: Names of the running old containers whose stop (and removal, if not kept) runs in the background.
  returned: success
  type: list
  elements: str
unlocked:
  description: Whether this step released the deploy lock (O(unlock)).
  returned: success
  type: bool
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._engine import Engine, engine_argument_spec
from ansible_collections.cutover.deploy.plugins.module_utils._lock import lock_path, release
from ansible_collections.cutover.deploy.plugins.module_utils._metrics import publish_or_report
from ansible_collections.cutover.deploy.plugins.module_utils._naming import COMMIT_LABEL, members
from ansible_collections.cutover.deploy.plugins.module_utils._module import (
    lease_option, renew_lease, require_valid_service,
)
from ansible_collections.cutover.deploy.plugins.module_utils._retire import add_retiring, removing_names, stop_in_background
from ansible_collections.cutover.deploy.plugins.module_utils._state import (
    DEFAULT_STATE_DIR, active_standby, begin_release, live_container, next_standby, record_live, release_record_option,
    load_state, rollback_candidates, save_state, select_image_prune, select_reap, standby_rollback_entry, with_standby,
)
from ansible_collections.cutover.deploy.plugins.module_utils._time import iso_now


def persist_live(module, state, live):
    """Record live['number'] as the live release (begun here from O(record) when it has none), and the release it
    replaced as the standby for O(standby) seconds (written now, unless in check mode); (state, changed, number)."""
    known = {h['number'] for h in state.get('history') or []}
    if module.check_mode and live['number'] is not None and live['number'] not in known:
        return state, True, live['number']  # begun by this same check-mode run, so never written: it would be recorded
    now = iso_now()
    try:
        begun, number = state, live['number']
        if number is None:
            entry = standby_rollback_entry(state, live['container'], live['upstream'], module.params['record'], now)
            begun, number = begin_release(state, entry, module.params['record']['history_limit'])
        after = record_live(begun, number, live['container'], live['upstream'], now, live['rolled_back_from'])
    except ValueError as exc:
        module.fail_json(msg='live: %s' % exc)
    if after is begun:
        return state, False, number
    after = with_standby(after, next_standby(state, after, module.params['standby'], time.time()))
    save_state(module, after)
    return after, True, number


def select(p, state, infos):
    """(remove, stop, kept) of the service's containers under the module's options. Pure."""
    if p['only'] is not None:
        wanted = set(m for w in p['only'] for m in members(w))  # a release's replicas: their names joined by commas
        infos = [i for i in infos if i['name'] in wanted or any(w and i['id'].startswith(w) for w in wanted)]
    if p['mode'] == 'stop':
        keep = set(m for k in p['keep'] for m in members(k))
        kept = [i for i in infos if i['name'] in keep or i['id'] in keep]
        return [], [i for i in infos if i['running'] and i not in kept], kept
    # with a history, only releases that were live are kept for rollback (never a failed green)
    was_live = rollback_candidates(state) if state.get('history') else None
    # the standby (the release just replaced, for a one-swap rollback) is left running like a kept one
    standby = active_standby(state, time.time())
    return select_reap(infos, p['keep'] + ([standby] if standby else []), live_container(state), p['keep_stopped'],
                       was_live)


def prune_images(module, engine, state, remaining):
    """O(keep_images): remove the tags of the built images select_image_prune gives up (in check mode, only
    name them). An image a container still uses (another service's, say) stays. Returns the tags removed."""
    p = module.params
    if p['keep_images'] is None:
        return []
    built = engine.built_images(p['service'], COMMIT_LABEL)
    doomed = select_image_prune(built, [i['image_id'] for i in remaining], state.get('history'), state.get('live'),
                                p['keep_images'], time.time(), p['image_grace'])
    removed = []
    for image in doomed:
        for tag in image['tags']:
            if not module.check_mode:
                try:
                    engine.client.api.remove_image(tag)
                except Exception as exc:  # pylint: disable=broad-except; in use, or gone meanwhile: keep going
                    module.warn('reap: image %s was kept: %s' % (tag, exc))
                    continue
            removed.append(tag)
    return removed


def finish_run(module):
    """O(metrics) and O(unlock): the end of a run, once the state is final. Returns whether it unlocked."""
    p = module.params
    if p['metrics']:
        publish_or_report(module, p['metrics']['path'], p['state_dir'], p['service'], p['metrics']['steps'], 'warn')
    if not (p['unlock'] and p['lease']) or module.check_mode:
        return False
    return release(lock_path(p['lease']['state_dir'], p['lease']['service']), p['lease']['run_id'])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine_argument_spec(),
            lease=lease_option(),
            service=dict(type='str', required=True),
            keep=dict(type='list', elements='str', default=[]),
            keep_stopped=dict(type='int', default=0),
            stop_timeout=dict(type='int', default=10),
            state_dir=dict(type='path', default=DEFAULT_STATE_DIR),
            only=dict(type='list', elements='str'),
            mode=dict(type='str', default='remove', choices=['remove', 'stop']),
            standby=dict(type='int', default=0),
            live=dict(type='dict', options=dict(
                number=dict(type='int'),
                container=dict(type='str', required=True),
                upstream=dict(type='str', required=True),
                rolled_back_from=dict(type='int'),
            )),
            record=release_record_option(),
            keep_images=dict(type='int'),
            image_grace=dict(type='int', default=3600),
            unlock=dict(type='bool', default=False),
            background=dict(type='bool', default=False),
            metrics=dict(type='dict', options=dict(
                path=dict(type='path', required=True),
                steps=dict(type='dict', default={}),
            )),
        ),
        supports_check_mode=True,
    )
    p = module.params
    require_valid_service(module)
    renew_lease(module)
    if min(p['keep_stopped'], p['stop_timeout'], p['standby'], p['image_grace'], p['keep_images'] or 0) < 0:
        module.fail_json(msg='keep_stopped, stop_timeout, standby, keep_images and image_grace must be 0 or more')
    state = load_state(module)
    live_recorded, number = False, None
    if p['live']:
        if p['live']['number'] is None and not p['record']:
            module.fail_json(msg='live.number is required unless record begins the release here')
        # persist green as live before anything old is removed (the load-bearing order, in one step)
        state, live_recorded, number = persist_live(module, state, p['live'])

    engine = Engine(module)
    infos, by_name = engine.service_inventory(p['service'])
    remove, stop, kept = select(p, state, infos)
    # one a helper is already stopping to remove is left to it: removing it here too races with the helper
    being_removed = removing_names(state)
    remove = [i for i in remove if i['name'] not in being_removed]
    # after a cutover nothing waits on the old containers: a running one stops in the background
    background = [i for i in remove + stop if i['running']] if p['live'] or p['background'] else []
    if background:
        state = add_retiring(state, [i['name'] for i in background if i in remove], True, p['stop_timeout'], time.time())
        state = add_retiring(state, [i['name'] for i in background if i in stop], False, p['stop_timeout'], time.time())
        save_state(module, state)
    if not module.check_mode:
        for info in stop:
            if info not in background:
                engine.call('stopping %s' % info['name'], by_name[info['name']].stop, timeout=p['stop_timeout'])
        for info in remove:
            if info in background:
                continue
            c = by_name[info['name']]
            if info['running']:
                engine.call('stopping %s' % info['name'], c.stop, timeout=p['stop_timeout'])
            engine.call('removing %s' % info['name'], c.remove, v=False)
        stop_in_background(engine, [(i['name'], i in remove) for i in background], p['stop_timeout'])
    pruned = prune_images(module, engine, state, [i for i in infos if i not in remove or i in background])
    unlocked = finish_run(module)

    removed_names = [i['name'] for i in remove]
    stopped_names = [i['name'] for i in stop]
    retiring_names = [i['name'] for i in background]
    before = sorted('%s (%s)' % (i['name'], i['status']) for i in infos)
    after = sorted('%s (%s)' % (i['name'], 'retiring' if i['name'] in retiring_names else
                                'exited' if i['name'] in stopped_names else i['status'])
                   for i in infos if i['name'] not in removed_names or i['name'] in retiring_names)
    actions = ['retire %s (stop in the background%s)' % (i['name'], ', then remove' if i in remove else '') for i in background]
    actions += ['stop %s' % n for n in stopped_names if n not in retiring_names]
    actions += ['remove %s' % n for n in removed_names if n not in retiring_names]
    actions += ['remove image %s' % t for t in pruned]
    module.exit_json(changed=bool(remove or stop or pruned) or live_recorded, live_recorded=live_recorded, number=number,
                     removed=removed_names, stopped=stopped_names, retiring=retiring_names, pruned_images=pruned,
                     kept=[i['name'] for i in kept], live=live_container(state), unlocked=unlocked, actions=actions,
                     diff=dict(before='\n'.join(before) + '\n', after='\n'.join(after) + '\n'))


if __name__ == '__main__':
    main()
