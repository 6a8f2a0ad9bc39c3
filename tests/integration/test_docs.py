"""Every module's documentation renders with ansible-doc from the installed collection, and the
README names every module and the two quickstart commands."""

from __future__ import annotations

import re
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


def plain(text):
    """Markdown or a fragment's RST as words: without escapes, code marks and tags, lines joined."""
    return ' '.join(re.sub(r'<[^>]+>', '', text).replace('\\', '').replace('`', '').split())


def test_next_release_changelog_generates(tmp_path):
    """antsibull-changelog turns the fragments into the section of galaxy.yml's version (in a copy of the tree:
    a release consumes the fragments): every fragment's sections and entries are in it."""
    import shutil
    import yaml
    copy = tmp_path / 'tree'
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns('.git', '.cache', '.venv', 'bench', 'tests'))
    version = yaml.safe_load((REPO / 'galaxy.yml').read_text())['version']
    fragments = [yaml.safe_load(path.read_text()) for path in sorted((REPO / 'changelogs' / 'fragments').glob('*.yml'))]
    titles = dict(yaml.safe_load((REPO / 'changelogs' / 'config.yaml').read_text())['sections'])
    proc = subprocess.run([str(BIN / 'antsibull-changelog'), 'release', '--version', version], cwd=copy,
                          capture_output=True, text=True, env=ansible_env(), check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    changelog = (copy / 'CHANGELOG.md').read_text()
    section = changelog[changelog.index('## v%s' % version.replace('.', '\\.')):]
    section = plain(section[:section.find('\n## v', 1)])  # this version's
    for fragment in fragments:
        for kind, entries in fragment.items():
            assert titles[kind] in section, (kind, section[:2000])
            for entry in entries:
                assert plain(entry) in section, (entry, section[:3000])
    assert list((copy / 'changelogs' / 'fragments').glob('*.yml')) == []
