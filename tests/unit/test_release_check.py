"""make release refuses a release whose version galaxy.yml, changelogs/changelog.yaml and CHANGELOG.md do not agree
on, or with changes no release lists yet (scripts/release_check.py)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location('release_check', ROOT / 'scripts' / 'release_check.py')
release_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(release_check)

MD = '# cutover\\.deploy Release Notes\n\n## v1\\.0\\.0\n\n## v0\\.1\\.0\n'


def test_a_consistent_release_passes():
    assert release_check.release_errors('1.0.0', ['0.1.0', '1.0.0'], [], MD) == []
    assert release_check.release_errors('1.10.0', ['1.9.0', '1.10.0'], [], '## v1\\.10\\.0') == []  # not by text order


@pytest.mark.parametrize('version, released, fragments, md, words', [
    ('1.1.0', ['0.1.0', '1.0.0'], [], MD + '## v1\\.1\\.0\n',
     ['galaxy.yml says version 1.1.0', 'newest release', 'is 1.0.0', 'antsibull-changelog release --version 1.1.0']),
    ('1.0.0', ['0.1.0', '1.0.0'], ['watch.yml'], MD, ['1 changelog fragment(s)', 'watch.yml']),
    ('1.0.0', ['0.1.0', '1.0.0'], [], '## v0\\.1\\.0', ['CHANGELOG.md has no section for 1.0.0']),
    ('1.0.0', [], [], MD, ['newest release in changelogs/changelog.yaml is None']),
])
def test_a_release_is_refused_with_the_reason(version, released, fragments, md, words):
    errors = release_check.release_errors(version, released, fragments, md)
    assert len(errors) == 1 and all(w in errors[0] for w in words), errors
