"""The supported ansible-core versions (scripts/matrix.sh): on each version other than the one this
suite runs under, the unit tests and one real blue-green deploy (v1, then v2) on Docker behind HAProxy,
with the collection installed by that version's ansible-galaxy."""

from __future__ import annotations

import subprocess
import sys

import ansible
import pytest

from tests.helpers import REPO, run_playbook
from tests.proxies import get_body
from tests.sites import DEPLOY, assert_ok

RUNNING = '.'.join(ansible.__version__.split('.')[:2])
VERSIONS = [line.split()[0] for line in subprocess.run(
    ['bash', str(REPO / 'scripts' / 'matrix.sh'), 'versions'], capture_output=True, text=True, check=True).stdout.splitlines()]


def matrix_venv(core):
    proc = subprocess.run(['bash', str(REPO / 'scripts' / 'matrix.sh'), 'setup', core], capture_output=True,
                          text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize('core', [v for v in VERSIONS if v != RUNNING])
def test_unit_tests_and_a_deploy_on_each_supported_core(core, docker_site):
    venv = matrix_venv(core)
    version = subprocess.run(['%s/bin/ansible' % venv, '--version'], capture_output=True, text=True, check=True).stdout
    assert 'core %s.' % core in version.splitlines()[0]
    unit = subprocess.run(['%s/bin/python' % venv, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests/unit'],
                          cwd=str(REPO), capture_output=True, text=True, check=False, timeout=300)
    assert unit.returncode == 0, unit.stdout[-3000:]
    site = docker_site
    for tag in ('v1', 'v2'):
        assert_ok(run_playbook(DEPLOY, dict(site.vars, cutover_image=site.engine.image(tag)), venv=venv))
    assert get_body(site.port) == 'demoapp v2'
    assert [h['outcome'] for h in site.state()['history']] == ['succeeded', 'succeeded']


def test_the_matrix_covers_the_running_core():
    assert RUNNING in VERSIONS, (RUNNING, VERSIONS, sys.version)
