"""The compose module's pure parts: its override file, the release digest, the pinned port."""

from __future__ import annotations

import json

from ansible_collections.cutover.deploy.plugins.modules.compose_project import override_text, pinned_port, project_release, tool_environment
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
