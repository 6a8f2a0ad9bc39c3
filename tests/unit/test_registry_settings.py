"""Which registry an image names, the credentials one pull gets, the checks of cutover_registry, and
whether an engine says it skips TLS verification for a registry (pure functions of _registry)."""

from __future__ import annotations

import pytest

from ansible_collections.cutover.deploy.plugins.module_utils._registry import (
    auth_config, ca_cert_paths, describe_registry, image_registry, insecure_allowed, registry_errors,
)

PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'


@pytest.mark.parametrize('ref,registry', [
    ('web:2', 'docker.io'),
    ('team/web:2', 'docker.io'),
    ('registry.example.com/team/web:2', 'registry.example.com'),
    ('127.0.0.1:5443/team/demoapp:v1', '127.0.0.1:5443'),
    ('localhost/demoapp:v1', 'localhost'),
    ('registry.example.com:5000/web@sha256:abc', 'registry.example.com:5000'),
])
def test_image_registry(ref, registry):
    assert image_registry(ref) == registry


def test_auth_config_goes_to_the_image_registry_unless_url_is_given():
    image = '127.0.0.1:5443/team/demoapp:v1'
    assert auth_config({}, image) is None
    assert auth_config({'username': None, 'password': None}, image) is None
    expected = dict(username='u', password='p', serveraddress='127.0.0.1:5443')
    assert auth_config({'username': 'u', 'password': 'p'}, image) == expected
    assert auth_config({'username': 'u', 'password': 'p', 'url': 'https://127.0.0.1:5443/'}, image) == expected


def test_describe_registry_never_names_the_password():
    text = describe_registry({'username': 'deployer', 'password': 'hunter22'}, 'registry.example.com/web:1')
    assert text == 'registry registry.example.com as user deployer'
    assert 'hunter22' not in text


@pytest.mark.parametrize('registry,fragment', [
    ({'username': 'u'}, 'registry needs both username and password'),
    ({'password': 'p'}, 'registry needs both username and password'),
    ({'url': 'other.example.com'}, 'registry.url other.example.com is not the registry of image'),
    ({'url': 'bad host'}, "registry.url 'bad host' is not a registry address"),
    ({'ca_cert': '/etc/ssl/ca.pem'}, 'registry.ca_cert must be the CA certificate itself'),
    ({'ca_cert': PEM, 'tls_verify': False}, 'contradict each other'),
])
def test_registry_errors_name_the_field(registry, fragment):
    errors = registry_errors(registry, 'registry.example.com/web:1')
    assert any(fragment in e for e in errors), errors


def test_good_registry_settings_pass_and_the_prefix_is_the_caller_s():
    good = {'username': 'u', 'password': 'p', 'url': 'registry.example.com', 'ca_cert': PEM, 'tls_verify': True}
    assert registry_errors(good, 'registry.example.com/web:1') == []
    assert registry_errors({}, 'web:1') == []
    assert registry_errors({'username': 'u'}, None, 'cutover_registry')[0].startswith('cutover_registry needs')


def test_ca_cert_goes_where_docker_and_podman_read_it():
    assert ca_cert_paths('127.0.0.1:5443/team/demoapp:v1', {}) == [
        '/etc/docker/certs.d/127.0.0.1:5443/ca.crt', '/etc/containers/certs.d/127.0.0.1:5443/ca.crt']


@pytest.mark.parametrize('config,host,verdict', [
    ({'InsecureRegistryCIDRs': ['127.0.0.0/8'], 'IndexConfigs': {'docker.io': {'Secure': True}}}, '127.0.0.1:5443', True),
    ({'InsecureRegistryCIDRs': ['127.0.0.0/8'], 'IndexConfigs': {'docker.io': {'Secure': True}}},
     'registry.example.com:5000', False),
    ({'InsecureRegistryCIDRs': [], 'IndexConfigs': {'lab.example.com:5000': {'Secure': False}}}, 'lab.example.com:5000', True),
    ({'InsecureRegistryCIDRs': [], 'IndexConfigs': {}}, 'lab.example.com:5000', None),  # Podman's API says nothing
    (None, 'lab.example.com', None),
])
def test_insecure_allowed(config, host, verdict):
    assert insecure_allowed(config, host) is verdict
