"""The collection in an execution environment, as AWX runs it: ansible-builder finds the collection's
requirements, and the docs/awx/ example makes a build context that installs the collection with them.

Building the image itself (ansible-builder build) needs the base image from a container registry this
machine cannot reach; the test runs the build's own galaxy and introspect steps from the context
instead (the same requirements file and the same introspect script the Containerfile runs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile

import yaml

from tests.helpers import BIN, COLLECTIONS, REPO


def builder(*args, cwd=None):
    proc = subprocess.run([str(BIN / 'ansible-builder')] + list(args), capture_output=True, text=True,
                          cwd=cwd, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def dependencies(introspect_output):
    data = yaml.safe_load(introspect_output[introspect_output.index('---'):])
    return [line.split()[0] for line in data['python']], data['system']


def test_introspect_finds_the_collection_requirements():
    python, system = dependencies(builder('introspect', str(COLLECTIONS)))
    assert 'docker>=5.0' in python and 'requests>=2.28' in python
    assert any(s.startswith('openssh-client') for s in system)


def test_example_execution_environment_builds_a_context_with_the_collection(tmp_path):
    tarball = sorted((REPO / '.cache' / 'build').glob('cutover-deploy-*.tar.gz'))[-1]
    for name in ('execution-environment.yml', 'requirements.yml'):
        shutil.copy(REPO / 'docs' / 'awx' / name, tmp_path / name)
    shutil.copy(tarball, tmp_path / 'cutover-deploy.tar.gz')  # as docs/awx/README.md says
    builder('create', '-f', 'execution-environment.yml', '-c', 'context', cwd=tmp_path)
    build = tmp_path / 'context' / '_build'
    assert 'requirements.yml' in (tmp_path / 'context' / 'Containerfile').read_text()
    with tarfile.open(build / 'collections' / 'cutover-deploy.tar.gz') as tar:
        names = tar.getnames()
    assert {'meta/execution-environment.yml', 'meta/ee-requirements.txt', 'meta/ee-bindep.txt'} <= set(names)
    # the build's galaxy stage (from /build, the context's _build) and its introspect stage
    installed = tmp_path / 'installed'
    # as in a fresh image: no other collection path (ansible-galaxy skips a collection it finds installed)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed))
    subprocess.run([str(BIN / 'ansible-galaxy'), 'collection', 'install', '-r', 'requirements.yml', '-p', str(installed)],
                   cwd=build, check=True, capture_output=True, env=env)
    assert (installed / 'ansible_collections' / 'cutover' / 'deploy' / 'meta' / 'execution-environment.yml').exists()
    proc = subprocess.run([str(BIN / 'python'), 'scripts/introspect.py', 'introspect', str(installed)], cwd=build,
                          capture_output=True, text=True, check=True)
    python, _system = dependencies(proc.stdout)
    assert 'docker>=5.0' in python and 'requests>=2.28' in python
