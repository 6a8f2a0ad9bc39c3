import re

import pytest

from ansible_collections.cutover.deploy.plugins.module_utils import _naming as n


def test_green_name_is_base_plus_ms_hex():
    assert n.green_name('web', 1700000000000) == 'web-18bcfe56800'


def test_green_name_skips_taken_names():
    first = n.green_name('web', 1000)
    second = n.green_name('web', 1000, taken=[first])
    assert first != second and second == 'web-3e9'


def test_green_names_are_unique_across_a_burst():
    names = set()
    for attempt in range(500):  # pylint: disable=unused-variable
        names.add(n.green_name('web', 1700000000000, taken=names))
    assert len(names) == 500


def test_green_name_length_and_characters():
    base = 'a' * n.SERVICE_MAX_LEN
    name = n.green_name(base, 2 ** 44)  # millisecond clocks until the year 2527 fit 11 hex digits
    assert len(name) <= 63
    assert re.match(r'^[a-zA-Z0-9][a-zA-Z0-9_.-]+$', name)  # the engines' container-name rule


@pytest.mark.parametrize('bad', ['', 'Web', 'web app', '-web', 'web/1', 'a' * 51, None, 'wéb'])
def test_bad_service_names_are_explained(bad):
    assert n.service_error(bad)


@pytest.mark.parametrize('good', ['web', 'api-2', 'my_app', '0web'])
def test_good_service_names(good):
    assert n.service_error(good) is None


def test_our_labels_win_over_user_labels():
    labels = n.container_labels('web', 'r1', 'blue-green', 'img', 8080, extra={n.LABEL_SERVICE: 'evil', 'team': 'a'})
    assert labels[n.LABEL_SERVICE] == 'web' and labels['team'] == 'a' and labels[n.LABEL_PORT] == '8080'
