# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each role's README.md and its meta/main.yml description, written from its meta/argument_specs.yml, so
they cannot drift from the variables Ansible checks (tests/unit/test_role_docs.py compares them).

    python3 scripts/role_docs.py          # write them
    python3 scripts/role_docs.py --check  # exit 1, naming the files, when one is out of step
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COLLECTION = 'cutover.deploy'

# The roles a user runs; the others are steps the deploy role runs, documented as internal.
PUBLIC = {
    'deploy': '''- hosts: web
  roles:
    - role: cutover.deploy.deploy
      vars:
        cutover_service: shop
        cutover_image: registry.example.com/shop:2.4.1
        cutover_container_port: 8080
        cutover_health: {path: /health}''',
    'rollback': '''- hosts: web
  roles:
    - role: cutover.deploy.rollback
      vars:
        cutover_service: shop''',
    'proxy': '''- hosts: web
  roles:
    - role: cutover.deploy.proxy
      vars:
        cutover_service: shop
        cutover_proxy: {type: haproxy, listen: "0.0.0.0:80"}''',
}
INTERNAL_NOTE = ('**Internal.** The collection\'s `deploy` role runs this one, and it expects what that role sets up '
                 '(every input checked, the deploy lock taken). Use `cutover.deploy.deploy` or '
                 '`playbooks/deploy.yml` instead.')


def plain(text):
    """Ansible's doc markup (C(), O(), V(), M(), I(), B()) as Markdown. Pure."""
    text = re.sub(r'\b[COVRE]\(([^()]*(?:\([^()]*\)[^()]*)*)\)', r'`\1`', str(text))
    text = re.sub(r'\bM\(([^)]*)\)', r'`\1`', text)
    text = re.sub(r'\bI\(([^)]*)\)', r'*\1*', text)
    return re.sub(r'\bB\(([^)]*)\)', r'**\1**', text)


def paragraphs(value):
    return [plain(' '.join(str(v).split())) for v in (value if isinstance(value, list) else [value]) if v]


def cell(text):
    return text.replace('|', '\\|')


def default_of(option):
    if option.get('required'):
        return 'required'
    if 'default' not in option:
        return ''
    value = option['default']
    shown = '""' if value == '' else yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    shown = shown[:-4].strip() if shown.endswith('...') else shown
    return '`%s`' % shown


def render(role, spec):
    """The README of one role from its argument specs. Pure."""
    lines = ['# %s.%s' % (COLLECTION, role), '']
    points = spec['argument_specs']
    main = points['main']
    lines += [plain(main['short_description']), '']
    if role not in PUBLIC:
        lines += [INTERNAL_NOTE, '']
    for text in paragraphs(main.get('description') or []):
        lines += [text, '']
    for name, point in points.items():
        lines += ['## Entry point `%s`' % name, '']
        if name != 'main':
            lines += [plain(point['short_description']), '']
        options = point.get('options') or {}
        if not options:
            lines += ['No variables.', '']
            continue
        lines += ['| variable | type | default | description |', '|---|---|---|---|']
        for key, option in options.items():
            kind = option.get('type', 'str')
            if kind == 'list' and option.get('elements'):
                kind = 'list of %s' % option['elements']
            lines.append('| `%s` | %s | %s | %s |' % (key, kind, cell(default_of(option)),
                                                      cell(' '.join(paragraphs(option.get('description') or '')))))
        lines.append('')
    if role in PUBLIC:
        lines += ['## Example', '', '```yaml', PUBLIC[role], '```', '']
    lines += ['The variables are checked against `meta/argument_specs.yml` before the role runs. More in the '
              "collection's README and docs/ guides. This file is written by `scripts/role_docs.py` from that "
              'file: edit the specs, then run the script.', '']
    return '\n'.join(lines)


def galaxy_description(role, spec):
    """meta/main.yml's description: the entry point's short description, marked internal where it is. Pure."""
    text = ' '.join(plain(spec['argument_specs']['main']['short_description']).replace('`', '').split())
    return text if role in PUBLIC else 'Internal to cutover.deploy (the deploy role runs it). %s' % text


def with_description(meta_text, description):
    """meta/main.yml with its galaxy_info description replaced (a folded scalar, lines within the lint's 160),
    the rest as written. Pure."""
    folded = '>-\n' + '\n'.join('    ' + line for line in textwrap.wrap(description, 100))
    return re.sub(r'(?m)^  description: .*(\n    .*)*$', lambda m: '  description: ' + folded, meta_text, count=1)


def expected_files():
    """{path: text} of every role's README.md and meta/main.yml as they should be."""
    out = {}
    for role_dir in sorted((ROOT / 'roles').iterdir()):
        spec = yaml.safe_load((role_dir / 'meta' / 'argument_specs.yml').read_text())
        role = role_dir.name
        out[role_dir / 'README.md'] = render(role, spec)
        meta = role_dir / 'meta' / 'main.yml'
        out[meta] = with_description(meta.read_text(), galaxy_description(role, spec))
    return out


def main(argv):
    stale = []
    for path, text in expected_files().items():
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if '--check' not in argv:
                path.write_text(text)
    if '--check' in argv and stale:
        print('out of step with meta/argument_specs.yml (run scripts/role_docs.py): %s'
              % ', '.join(str(p.relative_to(ROOT)) for p in stale))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
