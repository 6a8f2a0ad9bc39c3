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
VALID_STRATEGIES = ('', RECREATE, BLUE_GREEN)
RESERVED_STRATEGIES = ('rolling', 'canary')
VALID_SOURCES = ('image', 'compose')

# What "" means for each source kind: an image can run twice side by side; a compose stack is
# managed as a whole and has no blue-green path.
DEFAULT_FOR_SOURCE = {'image': BLUE_GREEN, 'compose': RECREATE}


# One argument spec for the validate_strategy module and its action plugin (which resolves the
# strategy on the controller, saving a module run per deploy).
ARGUMENT_SPEC = dict(
    strategy=dict(type='str', default=''),
    source=dict(type='str', default='image', choices=list(VALID_SOURCES)),
    exclusive_volumes=dict(type='bool', default=False),
)


class StrategyError(ValueError):
    """The requested strategy cannot be honoured; the message names the field and valid values."""


def _valid_list():
    return ', '.join('"%s"' % v for v in VALID_STRATEGIES)


def resolve_strategy(strategy, source='image', exclusive_volumes=False):
    """Return the effective strategy ('recreate' or 'blue-green') or raise StrategyError."""
    strategy = '' if strategy is None else strategy
    if source not in VALID_SOURCES:
        raise StrategyError('invalid source %r (valid: %s)' % (source, ', '.join(VALID_SOURCES)))
    if strategy in RESERVED_STRATEGIES:
        raise StrategyError(
            'strategy %r is reserved and not implemented yet (valid: %s)' % (strategy, _valid_list()))
    if strategy not in VALID_STRATEGIES:
        raise StrategyError('invalid strategy %r (valid: %s)' % (strategy, _valid_list()))

    if strategy == BLUE_GREEN:
        if source == 'compose':
            raise StrategyError(
                'strategy "blue-green" is not supported for source "compose": a stack is replaced '
                'as a whole (valid for compose: "", "recreate")')
        if exclusive_volumes:
            raise StrategyError(
                'strategy "blue-green" cannot be used with exclusive_volumes=true: blue-green runs '
                'the old and new containers at once, and both would mount the same writable volume '
                '(valid here: "", "recreate")')
        return BLUE_GREEN
    if strategy == RECREATE:
        return RECREATE
    # strategy == "": the back-compat default
    if exclusive_volumes:
        return RECREATE
    return DEFAULT_FOR_SOURCE[source]
