import pytest

from ansible_collections.cutover.deploy.plugins.module_utils import _validate as v
from ansible_collections.cutover.deploy.plugins.module_utils._naming import service_error


@pytest.mark.parametrize('value', ['127.0.0.1:8080', '[::1]:8080', 'lb.example.com:443', '0.0.0.0:80', 'app:8080'])
def test_addresses_accepted(value):
    assert v.address_error('listen', value) is None


@pytest.mark.parametrize('value', ['127.0.0.1:8080\n  bind 127.0.0.1:9999', '127.0.0.1:8080;', ' 127.0.0.1:80',
                                   '127.0.0.1:0', '127.0.0.1:99999', 'a b:80', '127.0.0.1', '[::1:80',
                                   'host_x:80', '127.0.0.1:80\n', 'x;}server{:80', '127.0.0.1:８０'])
def test_addresses_refused_naming_the_field(value):
    err = v.address_error('cutover_proxy.listen', value)
    assert err and err.startswith('cutover_proxy.listen') and 'host:port' in err


@pytest.mark.parametrize('value', ['web;disable frontend x', '/etc/ld.so', 'web\n', '..', 'a..b', '', 'a b', 'a{b}',
                                   '-web', 'web/x'])
def test_routes_refused(value):
    assert v.route_error('route', value)


@pytest.mark.parametrize('value', ['web', 'app.example.com', 'web_2-x'])
def test_routes_accepted(value):
    assert v.route_error('route', value) is None


def test_service_names_are_full_matches():
    assert service_error('web') is None
    assert service_error('web\n') and service_error('Web') and service_error('web;x')


@pytest.mark.parametrize('value', ['data:/data', '/srv/web:/srv:ro', 'data:/data:rw,z'])
def test_volumes_accepted(value):
    assert v.volume_error('volumes', value) is None


@pytest.mark.parametrize('value', ['data', 'data:/data:rx', 'data:/data\n', 'da ta:/data', 'data:rel', '/a:/b:ro:x'])
def test_volumes_refused(value):
    assert v.volume_error('volumes', value)


def test_env_names_and_secret_values_never_shown():
    assert v.env_error('env', {'GOOD_1': 'x'}) is None
    assert v.env_error('env', {'1BAD': 'x'})
    err = v.env_error('env', {'TOKEN': 'hunter2\0'}, secret=True)
    assert 'TOKEN' in err and 'hunter2' not in err


def test_regex_and_path():
    assert v.regex_error('cutover_health.body_regex', '(').startswith('cutover_health.body_regex')
    assert v.regex_error('x', 'ok|ready') is None
    assert v.http_path_error('path', '/health?x=1') is None
    assert v.http_path_error('path', '/health\r\nX: 1')


def test_check_inputs_lists_every_bad_field_and_accepts_good_input():
    good = dict(service='web', release='', proxy={'listen': '127.0.0.1:8080'}, volumes=['d:/d'], env={'A': '1'},
                public_env={}, labels={'team': 'x'}, health={'path': '/health'}, prefix='cutover_')
    assert v.check_inputs(good) == (True, 'inputs are valid')
    bad = dict(good, proxy={'listen': '1.2.3.4:80\nbind x', 'route': 'a;b'}, release='r;1')
    ok, msg = v.check_inputs(bad)
    assert not ok and 'cutover_proxy.listen' in msg and 'cutover_proxy.route' in msg and 'cutover_release' in msg
