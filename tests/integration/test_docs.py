"""Every module's documentation renders with ansible-doc from the installed collection, and the
README names every module and the two quickstart commands."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers import BIN, REPO, ansible_env

MODULES = sorted(p.stem for p in (REPO / 'plugins' / 'modules').glob('*.py') if p.stem != '__init__')


@pytest.mark.parametrize('module', MODULES)
def test_ansible_doc_renders(module):
    proc = subprocess.run([str(BIN / 'ansible-doc'), 'cutover.deploy.%s' % module], capture_output=True, text=True,
                          env=ansible_env(), check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for section in ('OPTIONS', 'EXAMPLES', 'RETURN VALUES', 'ATTRIBUTES'):
        assert section in proc.stdout, (module, section)


def test_readme_names_modules_and_quickstart():
    readme = (REPO / 'README.md').read_text()
    assert 'make demo' in readme and 'make test' in readme
    for module in MODULES:
        assert '`%s`' % module in readme, module


def test_next_release_changelog_generates(tmp_path):
    """antsibull-changelog turns the fragments into the next version's section (in a copy of the tree:
    a release consumes the fragments)."""
    import shutil
    import yaml
    copy = tmp_path / 'tree'
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns('.git', '.cache', '.venv', 'bench', 'tests'))
    version = yaml.safe_load((REPO / 'galaxy.yml').read_text())['version']
    proc = subprocess.run([str(BIN / 'antsibull-changelog'), 'release', '--version', version], cwd=copy,
                          capture_output=True, text=True, env=ansible_env(), check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    changelog = (copy / 'CHANGELOG.md').read_text()
    section = changelog[changelog.index('## v%s' % version.replace('.', '\\.')):]
    assert 'Release Summary' in section and 'private registries' in section.lower()
    assert 'cutover\\.deploy\\.image\\_pull' in section  # a module new in this version
    assert list((copy / 'changelogs' / 'fragments').glob('*.yml')) == []
