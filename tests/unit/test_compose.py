"""The compose module's pure parts: its override file, the release digest, the pinned port."""

from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.cutover.deploy.plugins.modules.compose_project import (
    blue_green_refusals, fixed_host_port, override_text, pinned_port, project_release, stale_routed, tool_environment)
from ansible_collections.cutover.deploy.plugins.module_utils._validate import deploy_input_errors


def test_override_publishes_only_the_routed_service_on_the_pinned_port():
    doc = json.loads(override_text('web', '127.0.0.1', 40123, 8080, {'io.cutover.service': 'shop'}))
    assert doc == {'services': {'web': {'ports': ['127.0.0.1:40123:8080'], 'labels': {'io.cutover.service': 'shop'}}}}
    assert json.loads(override_text('web', '::1', 40123, 8080, {}))['services']['web']['ports'] == ['[::1]:40123:8080']


def test_release_changes_with_the_files_and_the_variables_only():
    a = project_release(['services: {}'], {'TAG': 'v1'})
    assert a == project_release(['services: {}'], {'TAG': 'v1'}) and a.startswith('compose-')
    assert a != project_release(['services: {}'], {'TAG': 'v2'})
    assert a != project_release(['services: {x: {}}'], {'TAG': 'v1'})


def test_the_port_an_earlier_run_chose_is_kept(tmp_path):
    path = tmp_path / 'shop.override.yml'
    path.write_text(override_text('web', '127.0.0.1', 40123, 8080, {}))
    assert pinned_port(str(path), '127.0.0.1') == 40123
    assert 1024 <= pinned_port(str(tmp_path / 'missing.yml'), '127.0.0.1') <= 65535


def test_compose_source_is_checked_on_the_controller():
    ok = dict(type='compose', files=['/srv/shop/compose.yml'], service='web')
    assert deploy_input_errors(dict(service='shop', source=ok)) == []
    text = ' | '.join(deploy_input_errors(dict(service='shop', image='x:1', source=dict(
        ok, files=['compose.yml'], service='', project='Shop', extra=1))))
    for words in ('cutover_source.files', 'absolute path', 'cutover_source.service', 'cutover_source.project',
                  "unknown keys ['extra']", 'cutover_image and cutover_source type compose are exclusive'):
        assert words in text, (words, text)


def test_env_names_that_configure_the_compose_tool_are_refused():
    """The compose env reaches the tool's own process (it feeds the files' ${VAR}); names its interpreter, the
    loader, its engine client or its search path act on are refused, in any case; the rest pass."""
    def errors(env):
        return deploy_input_errors(dict(service='shop', source=dict(type='compose', files=['/srv/c.yml'], service='web',
                                                                    env=env)))
    for name in ('PYTHONPATH', 'PYTHONSTARTUP', 'LD_PRELOAD', 'ld_library_path', 'PATH', 'DOCKER_CONFIG',
                 'DOCKER_HOST', 'COMPOSE_FILE', 'CONTAINERS_CONF', 'SSL_CERT_FILE', 'https_proxy', 'BASH_ENV'):
        text = ' | '.join(errors({name: 'x', 'TAG': 'v1'}))
        assert 'cutover_source.env.%s is refused' % name in text and 'TAG' not in text.split('refused are', maxsplit=1)[0], text
    assert errors({'TAG': 'v1', 'DB_PASSWORD': 's', 'APP_DOCKERFILE': 'Dockerfile', 'MY_PATH': '/srv'}) == []


def test_the_compose_tool_gets_the_project_variables_and_nothing_of_the_hosts(monkeypatch):
    monkeypatch.setenv('APP_TAG', 'from-the-host')
    monkeypatch.setenv('COMPOSE_FILE', '/elsewhere.yml')
    docker = tool_environment({'APP_TAG': 'v2'}, 'docker-compose', 'unix:///var/run/docker.sock', '/root')
    assert docker == {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8',
                      'HOME': '/root', 'DOCKER_HOST': 'unix:///var/run/docker.sock', 'APP_TAG': 'v2'}
    podman = tool_environment({}, 'podman-compose', 'unix:///run/podman/podman.sock', '/root')
    assert 'DOCKER_HOST' not in podman and 'APP_TAG' not in podman and 'COMPOSE_FILE' not in podman


def test_blue_green_publishes_on_a_port_the_engine_picks_for_each_container():
    doc = json.loads(override_text('app', '127.0.0.1', None, 8080, {'io.cutover.service': 'shop'}))
    assert doc['services']['app']['ports'] == ['127.0.0.1::8080']


@pytest.mark.parametrize('port, fixed', [
    ({'target': 8080}, None), ({'target': 8080, 'published': 18082}, '18082'), ('8080', None),
    ('8081:8080', '8081'), ('127.0.0.1:18081:8080/tcp', '18081'), ('127.0.0.1::8080/tcp', None),
    ('9000-9001:8080-8081', '9000-9001'),
])
def test_fixed_host_ports_are_told_from_ports_the_engine_picks(port, fixed):
    assert fixed_host_port(port) == fixed


@pytest.mark.parametrize('service, words', [
    (dict(image='demoapp:v1'), None),
    (dict(image='demoapp:v1', ports=[{'target': 8080}], volumes=['data:/data:rw']), None),
    (dict(image='demoapp:v1', container_name='shop-app'), ['container_name shop-app', 'cutover_strategy recreate']),
    (dict(image='demoapp:v1', ports=['127.0.0.1:18081:8080/tcp']), ['host port 18081', 'remove the ports']),
    (dict(image='demoapp:v1', scale=2), ['2 replicas', 'scale 1']),
    (dict(image='demoapp:v1', deploy=dict(replicas=3)), ['3 replicas']),
])
def test_blue_green_is_refused_when_the_routed_service_cannot_run_twice(service, words):
    refusals = blue_green_refusals({'services': {'app': service, 'sidecar': {'image': 'x'}}}, 'app')
    if words is None:
        assert refusals == []
    else:
        assert len(refusals) == 1 and all(w in refusals[0] for w in words), refusals
        assert 'source.service app' in refusals[0]


def test_blue_green_names_the_services_when_the_routed_one_is_missing():
    refusals = blue_green_refusals({'services': {'web': {}, 'db': {}}}, 'app')
    assert refusals == ['source.service app is not a service of the project (its services: db, web)']


def test_only_stopped_routed_containers_and_an_earlier_green_of_this_release_are_cleared():
    def c(name, running, release):
        return dict(name=name, running=running, release=release)
    routed = [c('shop_app_1', True, 'r1'), c('shop_app_2', False, 'r0'), c('shop_app_3', True, 'r2'),
              c('shop_app_4', True, 'r1b')]
    # the live one is never cleared, even stopped; a running one of another release is left to reconcile
    assert stale_routed(routed, 'shop_app_1', 'r2') == ['shop_app_2', 'shop_app_3']
    assert stale_routed([c('shop_app_1', False, 'r1')], 'shop_app_1', 'r2') == []
    assert stale_routed(routed, None, 'r1') == ['shop_app_1', 'shop_app_2']


def test_blue_green_with_a_compose_source_on_podman_is_refused_on_the_controller():
    from ansible_collections.cutover.deploy.plugins.module_utils import _settings as st
    base = {k: spec.get('default') for k, spec in st.ARGUMENT_SPEC.items()}
    base.update(service='web', container_port=8080, host='app1', inventory_hosts=['app1'], deploy=True,
                state_dir='/var/lib/cutover', numbers=dict(stop_timeout=10, drain_timeout=30, lock_lease=0),
                source=dict(type='compose', files=['/srv/shop/compose.yml'], service='app'))
    now = datetime.datetime(2026, 12, 7, tzinfo=datetime.timezone.utc)
    assert st.resolve(dict(base, strategy='blue-green'), now, 'ops')[0] == []
    errors = st.resolve(dict(base, strategy='blue-green', engine=dict(type='podman')), now, 'ops')[0]
    assert len(errors) == 1 and 'needs docker-compose' in errors[0] and 'cutover_strategy recreate' in errors[0]
    assert st.resolve(dict(base, engine=dict(type='podman')), now, 'ops')[0] == []  # recreate, compose's default
