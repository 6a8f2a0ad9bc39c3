# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docs site's extra docs (docs/docsite/rst/*.rst), written from the Markdown guides in docs/ with pandoc, so
the guides have one source. docs/docsite/extra-docs.yml lists them; scripts/docs.sh builds the site.

    python3 scripts/docsite.py PANDOC          # write them (scripts/docs.sh --write does, with its pandoc)
    python3 scripts/docsite.py PANDOC --check  # exit 1, naming the files, when one is out of step

PANDOC is the pandoc binary (scripts/docs.sh passes the one its virtualenv pins, so the output is stable).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABEL_PREFIX = 'ansible_collections.cutover.deploy.docsite.'
REPOSITORY = 'https://github.com/cutover/cutover.deploy/blob/main/'

# guide name (its label and .rst name): the Markdown it is written from, in the site's order
GUIDES = {
    'how_it_works': 'docs/how-it-works.md',
    'fleet': 'docs/fleet.md',
    'awx': 'docs/awx/README.md',
    'registry': 'docs/registry.md',
    'sources': 'docs/sources.md',
    'canary': 'docs/canary.md',
    'release_safety': 'docs/release-safety.md',
    'replicas': 'docs/replicas.md',
    'metrics': 'docs/metrics.md',
    'proxies': 'docs/proxies.md',
    'security': 'docs/security.md',
    'benchmark': 'docs/benchmark.md',
    'development': 'docs/development.md',
}
LINK = re.compile(r'`([^`<]+?) <([^>`]+)>`__')


def retarget(rst, source):
    """The guide's links in the site: to another guide, its label; to any other file of the repository, the file
    there. Pure."""
    by_path = {str((ROOT / md).resolve()): name for name, md in GUIDES.items()}
    base = (ROOT / source).parent

    def one(match):
        text, target = match.group(1), match.group(2)
        if re.match(r'^[a-z]+:', target) or target.startswith('#'):
            return match.group(0)
        path = target.split('#')[0]
        resolved = str((base / path).resolve())
        if resolved in by_path:
            return ':ref:`%s <%s%s>`' % (text.strip(), LABEL_PREFIX, by_path[resolved])
        return '`%s <%s%s>`__' % (text.strip(), REPOSITORY, Path(resolved).relative_to(ROOT))
    return LINK.sub(one, rst)


def render(pandoc, name, source):
    """One guide as an extra doc: its label, then the guide as pandoc writes it in RST."""
    markdown = (ROOT / source).read_text()
    # no heading ids: the docs lint accepts only labels under LABEL_PREFIX, and sections need none
    rst = subprocess.run([pandoc, '--from', 'gfm-gfm_auto_identifiers', '--to', 'rst', '--wrap', 'none'], input=markdown,
                         capture_output=True, text=True, check=True).stdout
    return ('..\n  Written by scripts/docsite.py from %s: edit that file, then run the script.\n\n'
            '.. _%s%s:\n\n%s' % (source, LABEL_PREFIX, name, retarget(rst, source)))


def expected_files(pandoc):
    return {ROOT / 'docs' / 'docsite' / 'rst' / ('%s.rst' % name): render(pandoc, name, source)
            for name, source in GUIDES.items()}


def main(argv):
    pandoc, check = argv[0], '--check' in argv
    stale = []
    folder = ROOT / 'docs' / 'docsite' / 'rst'
    expected = expected_files(pandoc)
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(set(folder.glob('*.rst')) - set(expected)):
        stale.append(path)  # a guide no longer listed
        if not check:
            path.unlink()
    for path, text in expected.items():
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if not check:
                path.write_text(text)
    if check and stale:
        print('out of step with the guides in docs/: %s'
              % ', '.join(str(p.relative_to(ROOT)) for p in stale))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
