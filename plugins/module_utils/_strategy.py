# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy strategy resolution: a pure function, unit-tested without a daemon.

"" is the back-compat default and resolves per source kind. Reserved values are rejected until
they are implemented, so a config can never claim a behaviour the deployer will not honour.
"""

from __future__ import annotations

RECREATE = 'recreate'
BLUE_GREEN = 'blue-green'
CANARY = 'canary'
ROLLING = 'rolling'
VALID_STRATEGIES = ('', RECREATE, BLUE_GREEN, CANARY, ROLLING)
RESERVED_STRATEGIES = ()
WEIGHTED_PROXIES = ('haproxy',)  # the proxies whose driver can split a route's requests by weight
VALID_SOURCES = ('image', 'compose')

# What "" means for each source kind: an image can run twice side by side; a compose project is
# replaced as a whole unless blue-green of its routed service is asked for.
DEFAULT_FOR_SOURCE = {'image': BLUE_GREEN, 'compose': RECREATE}


# One argument spec for the validate_strategy module and its action plugin (which resolves the
# strategy on the controller, saving a module run per deploy).
ARGUMENT_SPEC = dict(
    strategy=dict(type='str', default=''),
    source=dict(type='str', default='image', choices=list(VALID_SOURCES)),
    exclusive_volumes=dict(type='bool', default=False),
    proxy_type=dict(type='str', default='haproxy'),
    replicas=dict(type='int', default=1),
)


class StrategyError(ValueError):
    """The requested strategy cannot be honoured; the message names the field and valid values."""


def _valid_list():
    return ', '.join('"%s"' % v for v in VALID_STRATEGIES)


def resolve_strategy(strategy, source='image', exclusive_volumes=False, proxy_type='haproxy', replicas=1):
    """Return the effective strategy ('recreate', 'blue-green', 'canary' or 'rolling') or raise StrategyError."""
    strategy = '' if strategy is None else strategy
    if source not in VALID_SOURCES:
        raise StrategyError('invalid source %r (valid: %s)' % (source, ', '.join(VALID_SOURCES)))
    if strategy in RESERVED_STRATEGIES:
        raise StrategyError(
            'strategy %r is reserved and not implemented yet (valid: %s)' % (strategy, _valid_list()))
    if strategy not in VALID_STRATEGIES:
        raise StrategyError('invalid strategy %r (valid: %s)' % (strategy, _valid_list()))

    if strategy == ROLLING and replicas < 2:
        raise StrategyError('strategy "rolling" replaces replicas a few at a time and the service runs %d '
                            '(cutover_replicas): use "blue-green", or raise cutover_replicas' % replicas)
    if strategy in (BLUE_GREEN, CANARY, ROLLING):
        if source == 'compose' and strategy != BLUE_GREEN:
            raise StrategyError(
                'strategy "%s" is not supported for source "compose": the routed service can be blue-greened, '
                'the project is otherwise replaced as a whole (valid for compose: "", "recreate", "blue-green")'
                % strategy)
        if exclusive_volumes:
            raise StrategyError(
                'strategy "%s" cannot be used with exclusive_volumes=true: it runs '
                'the old and new containers at once, and both would mount the same writable volume '
                '(valid here: "", "recreate")' % strategy)
        if strategy == CANARY and proxy_type not in WEIGHTED_PROXIES:
            raise StrategyError(
                'strategy "canary" needs a proxy that splits requests by weight (proxy.type %s); proxy.type is %r '
                '(valid with it: "", "recreate", "blue-green")' % (', '.join(WEIGHTED_PROXIES), proxy_type))
        return strategy
    if strategy == RECREATE:
        return RECREATE
    # strategy == "": the back-compat default
    if exclusive_volumes:
        return RECREATE
    return DEFAULT_FOR_SOURCE[source]
