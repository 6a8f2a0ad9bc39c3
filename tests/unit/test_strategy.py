import pytest

from ansible_collections.cutover.deploy.plugins.module_utils._strategy import StrategyError, resolve_strategy


@pytest.mark.parametrize('strategy,source,exclusive,expected', [
    # "" is the back-compat default: it resolves per source kind.
    ('', 'image', False, 'blue-green'),
    (None, 'image', False, 'blue-green'),
    ('', 'compose', False, 'recreate'),
    ('', 'image', True, 'recreate'),
    ('', 'compose', True, 'recreate'),
    ('recreate', 'image', False, 'recreate'),
    ('recreate', 'compose', False, 'recreate'),
    ('recreate', 'image', True, 'recreate'),
    ('blue-green', 'image', False, 'blue-green'),
    ('blue-green', 'compose', False, 'blue-green'),  # the routed service's; recreate stays compose's default
    ('canary', 'image', False, 'canary'),
])
def test_resolution_matrix(strategy, source, exclusive, expected):
    assert resolve_strategy(strategy, source, exclusive) == expected


@pytest.mark.parametrize('strategy,source,exclusive,words', [
    ('rolling', 'image', False, ['"rolling" replaces replicas a few at a time', 'runs 1', '"blue-green"', 'cutover_replicas']),
    ('canary', 'compose', False, ['compose', '"recreate"', '"blue-green"']),
    ('canary', 'image', True, ['exclusive_volumes', '"recreate"']),
    ('bluegreen', 'image', False, ['invalid strategy', '""', '"recreate"', '"blue-green"']),
    ('Recreate', 'image', False, ['invalid strategy']),
    ('blue-green', 'compose', True, ['exclusive_volumes', 'same writable volume', '"recreate"']),
    ('blue-green', 'image', True, ['exclusive_volumes', 'same writable volume', '"recreate"']),
    ('', 'helm', False, ['invalid source', 'image', 'compose']),
])
def test_rejections_name_the_valid_values(strategy, source, exclusive, words):
    with pytest.raises(StrategyError) as err:
        resolve_strategy(strategy, source, exclusive)
    for word in words:
        assert word in str(err.value)


def test_rolling_needs_replicas_and_canary_one_container():
    assert resolve_strategy('rolling', 'image', False, 'nginx', 3) == 'rolling'
    assert resolve_strategy('canary', 'image', False, 'haproxy', 3) == 'canary'  # weighed set against set
    with pytest.raises(StrategyError, match='exclusive_volumes'):
        resolve_strategy('rolling', 'image', True, 'haproxy', 3)
    assert resolve_strategy('', 'image', False, 'haproxy', 3) == 'blue-green'


def test_canary_needs_a_weighted_proxy():
    with pytest.raises(StrategyError) as err:
        resolve_strategy('canary', 'image', False, 'caddy')
    assert "'caddy'" in str(err.value) and 'haproxy' in str(err.value) and '"blue-green"' in str(err.value)
