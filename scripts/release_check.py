# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Refuse a release whose version galaxy.yml, the released changelog and CHANGELOG.md do not agree on, or
that has changes no release lists yet (make release runs it before building the tarball).

    python3 scripts/release_check.py     # exit 1 with the reasons, 0 when the release is consistent
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def version_key(version):
    return tuple(int(part) for part in str(version).split('.'))


def release_errors(galaxy_version, released, fragments, changelog_md):
    """What is wrong with releasing galaxy_version (a list of messages, empty when nothing is). released: the
    versions changelogs/changelog.yaml lists; fragments: the unreleased fragment file names; changelog_md:
    CHANGELOG.md's text. Pure."""
    errors = []
    newest = max(released, key=version_key) if released else None
    if newest != galaxy_version:
        errors.append('galaxy.yml says version %s, but the newest release in changelogs/changelog.yaml is %s: '
                      'run antsibull-changelog release --version %s (or set galaxy.yml to %s)'
                      % (galaxy_version, newest, galaxy_version, newest))
    if fragments:
        errors.append('%d changelog fragment(s) are in no release yet (%s): release them with antsibull-changelog '
                      'release, under a new version in galaxy.yml' % (len(fragments), ', '.join(sorted(fragments))))
    anchor = '## v%s' % str(galaxy_version).replace('.', '\\.')
    if anchor not in changelog_md:
        errors.append('CHANGELOG.md has no section for %s: run antsibull-changelog generate' % galaxy_version)
    return errors


def main():
    galaxy = yaml.safe_load((ROOT / 'galaxy.yml').read_text())
    changes = yaml.safe_load((ROOT / 'changelogs' / 'changelog.yaml').read_text())
    fragments = [p.name for p in (ROOT / 'changelogs' / 'fragments').glob('*.y*ml')]
    errors = release_errors(str(galaxy['version']), [str(v) for v in changes.get('releases') or {}], fragments,
                            (ROOT / 'CHANGELOG.md').read_text())
    for error in errors:
        print('release refused: %s' % error)
    if not errors:
        print('release: galaxy.yml, changelogs/changelog.yaml and CHANGELOG.md agree on %s' % galaxy['version'])
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
