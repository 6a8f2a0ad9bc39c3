# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every service-facing module starts with, turned into clear fail_json messages: the service
name check, the finite numbers check, and the renewal of the deploy lock's lease (the state's read and write
are _state.load_state and save_state)."""

from __future__ import annotations

import contextlib
import math
import threading
import time

from ansible_collections.cutover.deploy.plugins.module_utils._lock import lock_path, renew
from ansible_collections.cutover.deploy.plugins.module_utils._naming import service_error


def require_valid_service(module):
    """Fail the module unless its `service` option is a valid service name."""
    err = service_error(module.params['service'])
    if err:
        module.fail_json(msg='service: ' + err)


def non_finite_option(spec, params, prefix=''):
    """(name, value) of the first float option (nested ones too) that is NaN or infinite, or None. Ansible's
    float type takes both, and NaN passes every range check while infinity never ends a wait. Pure."""
    for name, option in sorted(spec.items()):
        value = (params or {}).get(name)
        if option.get('type') == 'float' and isinstance(value, float) and not math.isfinite(value):
            return prefix + name, value
        if option.get('options') and isinstance(value, dict):
            found = non_finite_option(option['options'], value, '%s%s.' % (prefix, name))
            if found:
                return found
    return None


def require_finite_numbers(module):
    """Fail the module, naming the option, when a number option is NaN or infinite."""
    found = non_finite_option(module.argument_spec, module.params)
    if found:
        module.fail_json(msg='%s %s is invalid: use a finite number' % found)


def lease_option():
    """The `lease` option (doc fragment: lease) of every step that runs under the deploy lock."""
    return dict(type='dict', options=dict(
        state_dir=dict(type='path', required=True),
        service=dict(type='str', required=True),
        run_id=dict(type='str', required=True),
        seconds=dict(type='int', required=True),
    ))


class LeaseKeeper:
    """Renews the deploy lock's lease for this step; fails the module if the lock was lost."""

    def __init__(self, module):
        self.module = module
        self.lease = module.params.get('lease')
        self.last = None

    def renew(self, every=None):
        """Renew now (or only if `every` seconds passed since the last renewal)."""
        if not self.lease or self.module.check_mode:
            return
        now = time.monotonic()
        if every is not None and self.last is not None and now - self.last < every:
            return
        lease = self.lease
        err = service_error(lease['service'])
        if err:
            self.module.fail_json(msg='lease.service: ' + err)
        if renew(lock_path(lease['state_dir'], lease['service']), lease['run_id'], lease['seconds']) is None:
            self.module.fail_json(msg='run %s no longer holds the deploy lock of %s (its lease expired and another run '
                                      'broke it): stopping before changing anything; raise cutover_lock_lease'
                                  % (lease['run_id'], lease['service']))
        self.last = now

    @contextlib.contextmanager
    def held_while(self, what):
        """Keep renewing the lease, every third of it, while `what` (a compose up, an image pull) runs: a call
        that outlasts the lease would otherwise leave a lock another run may break under a running step. A
        lock lost meanwhile fails the module once the call returns (a thread cannot fail it)."""
        if not self.lease or self.module.check_mode:
            yield
            return
        lease, stop, lost = self.lease, threading.Event(), []

        def keep():
            while not stop.wait(max(1.0, lease['seconds'] / 3.0)):
                if renew(lock_path(lease['state_dir'], lease['service']), lease['run_id'], lease['seconds']) is None:
                    lost.append(True)
                    return

        thread = threading.Thread(target=keep, name='cutover-lease', daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        if lost:
            self.module.fail_json(msg='run %s lost the deploy lock of %s while %s ran (another run broke it)'
                                  % (lease['run_id'], lease['service'], what))
        self.renew()


def renew_lease(module):
    """Renew the lease once at the start of a step (see LeaseKeeper); returns the keeper."""
    keeper = LeaseKeeper(module)
    keeper.renew()
    return keeper
