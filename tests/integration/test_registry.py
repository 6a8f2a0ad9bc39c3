"""Deploys that pull from a real private registry on 127.0.0.1: Debian's docker-registry (distribution
v2) with TLS from a test CA and htpasswd (bcrypt) auth, images pushed with skopeo (scripts/registry.sh).

Docker treats 127.0.0.0/8 as an insecure registry range by default (it skips certificate checks
there), so the CA that cutover_registry.ca_cert installs is proven on Podman, which verifies it: the
test removes Podman's trust folder for the registry first, and the pull only works with the CA
Cutover installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO, awx_credential_extra_vars, run_module, runner_job
from tests.proxies import get_body
from tests.sites import DEPLOY, assert_ok

REGISTRY_DIR = Path('/var/lib/cutover-registry')
HOST = '127.0.0.1:5443'


@pytest.fixture(scope='module')
def registry():
    up = subprocess.run(['bash', str(REPO / 'scripts' / 'registry.sh'), 'up'], capture_output=True, text=True, check=False)
    assert up.returncode == 0, 'scripts/registry.sh up failed: %s' % (up.stderr or up.stdout)[-2000:]
    return dict(username=(REGISTRY_DIR / 'user').read_text().strip(),
                password=(REGISTRY_DIR / 'password').read_text().strip(),
                ca_cert=(REGISTRY_DIR / 'ca.crt').read_text())


def push(source, tag):
    subprocess.run(['bash', str(REPO / 'scripts' / 'registry.sh'), 'push', source, tag], check=True,
                   capture_output=True)


def forget_image(engine, ref):
    """Remove ref from the engine, so the deploy must pull it."""
    try:
        engine.client.images.remove(ref, force=True)
    except Exception:  # not there: nothing to forget
        pass


def assert_secret_absent(secret, *texts):
    for text in texts:
        assert secret not in text


def test_deploy_pulls_with_credentials_and_never_shows_the_password(site, registry, tmp_path):
    """An AWX job (through ansible-runner, verbosity 3 = -vvv) with the credentials as AWX's "Cutover
    registry" credential type injects them (docs/awx/)."""
    image = '%s/team/demoapp:v1' % HOST
    forget_image(site.engine, image)
    shutil.rmtree('/etc/containers/certs.d/%s' % HOST, ignore_errors=True)  # only Cutover's CA install
    injected = awx_credential_extra_vars(REPO / 'docs' / 'awx' / 'credential-type-registry.yml', registry)
    extra = dict(site.vars, cutover_image=image, cutover_pull='always', **injected)
    job = runner_job(tmp_path, DEPLOY, extra, verbosity=3)
    stdout = job.stdout.read()
    assert job.status == 'successful', stdout[-4000:]
    assert get_body(site.port) == 'demoapp v1'
    assert site.engine.client.images.get(image)
    if site.engine.name == 'podman':
        assert Path('/etc/containers/certs.d/%s/ca.crt' % HOST).read_text().strip() == registry['ca_cert'].strip()
    events = [p.read_text() for p in Path(job.config.artifact_dir).glob('job_events/*.json')]
    assert len(events) > 20 and '<localhost> EXEC' in stdout  # -vvv output and the events are there
    assert_secret_absent(registry['password'], stdout, *events, json.dumps(site.state()))


def test_wrong_credentials_fail_before_any_container_changes(docker_site, registry):
    site = docker_site
    assert_ok(site.deploy('v1'))
    before = (site.running(), site.route())
    wrong = dict(registry, password='not-the-password-%s' % site.service)
    image = '%s/team/demoapp:v2' % HOST
    forget_image(site.engine, image)
    run = site.deploy('v2', cutover_image=image, cutover_registry=wrong, playbook_args=('-vvv',))
    assert run.rc != 0
    failed = [r for r in run.results if r['status'] == 'failed']
    assert failed and 'registry %s as user %s' % (HOST, registry['username']) in failed[0]['result']['msg']
    assert 'unauthorized' in failed[0]['result']['msg']
    assert (site.running(), site.route()) == before
    assert get_body(site.port) == 'demoapp v1'
    assert_secret_absent(wrong['password'], run.stdout, run.stderr, json.dumps(run.results), json.dumps(site.state()))


def test_bad_registry_settings_are_refused_naming_the_field(docker_site, registry):
    site = docker_site
    run = site.deploy('v1', cutover_image='%s/team/demoapp:v1' % HOST,
                      cutover_registry=dict(registry, url='registry.example.com'))
    assert run.rc != 0
    assert 'cutover_registry.url registry.example.com is not the registry of image' in run.stdout
    assert site.running() == []


def test_a_moved_tag_is_deployed_with_pull_always(docker_site, registry):
    site = docker_site
    tag = 'moving-%s' % site.service
    image = '%s/team/demoapp:%s' % (HOST, tag)
    push('demoapp:v1', tag)
    assert_ok(site.deploy('v1', cutover_image=image, cutover_registry=registry))
    assert get_body(site.port) == 'demoapp v1'
    push('demoapp:v2', tag)  # the same tag now names another image on the registry
    kept = site.deploy('v1', cutover_image=image, cutover_registry=registry, cutover_pull='missing')
    assert_ok(kept)
    assert get_body(site.port) == 'demoapp v1'  # missing: the host's image under that tag is kept
    moved = site.deploy('v1', cutover_image=image, cutover_registry=registry, cutover_pull='always')
    assert_ok(moved)
    assert get_body(site.port) == 'demoapp v2'
    assert site.state()['live']['image'] == image


def test_tls_verify_false_is_refused_where_docker_would_verify(docker_engine):
    """Docker reports which registries it skips verification for; one it would verify is refused
    before any pull (nothing is contacted: the check reads the engine's configuration)."""
    result = run_module('image_pull', dict(engine_host=docker_engine.host, image='registry.example.com:5000/web:1',
                                           registry=dict(tls_verify=False)))
    assert result['status'] == 'failed'
    assert 'registry.tls_verify=false' in result['msg'] and 'registry.example.com:5000' in result['msg']
    assert 'insecure-registries' in result['msg']
