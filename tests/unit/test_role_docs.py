"""Every role has a README.md and a real galaxy description, both written from its meta/argument_specs.yml by
scripts/role_docs.py: this keeps them in step with the specs (Galaxy refuses a role without a README)."""

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location('role_docs', ROOT / 'scripts' / 'role_docs.py')
role_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(role_docs)


def test_every_roles_readme_and_description_match_its_argument_specs():
    expected = role_docs.expected_files()
    roles = sorted(p.name for p in (ROOT / 'roles').iterdir())
    assert len(expected) == 2 * len(roles)
    stale = [str(path.relative_to(ROOT)) for path, text in expected.items()
             if not path.exists() or path.read_text() != text]
    assert stale == [], 'run scripts/role_docs.py: %s' % stale


def test_each_readme_lists_every_variable_and_internal_roles_say_so():
    for role_dir in sorted((ROOT / 'roles').iterdir()):
        specs = yaml.safe_load((role_dir / 'meta' / 'argument_specs.yml').read_text())['argument_specs']
        readme = (role_dir / 'README.md').read_text()
        for point in specs.values():
            for name in point.get('options') or {}:
                assert '| `%s` |' % name in readme, (role_dir.name, name)
        internal = role_dir.name not in role_docs.PUBLIC
        assert ('**Internal.**' in readme) == internal, role_dir.name
        assert ('## Example' in readme) != internal, role_dir.name
        description = yaml.safe_load((role_dir / 'meta' / 'main.yml').read_text())['galaxy_info']['description']
        assert description.startswith('Internal') == internal and 'Cutover %s role' % role_dir.name not in description


def test_doc_markup_becomes_markdown():
    assert role_docs.plain('C(cutover_source) O(x.y) M(cutover.deploy.reap) I(this) B(that) C(f(x))') == \
        '`cutover_source` `x.y` `cutover.deploy.reap` *this* **that** `f(x)`'
    assert role_docs.default_of(dict(default='')) == '`""`' and role_docs.default_of(dict(required=True)) == 'required'
    assert role_docs.default_of(dict(default={'a': 1})) == '`{a: 1}`' and role_docs.default_of({}) == ''
