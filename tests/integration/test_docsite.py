"""The docs site as antsibull-docs builds it (scripts/docs.sh, offline: only the unreachable intersphinx
inventories may warn): the docs lint is clean, the guides are in step with docs/*.md, and the site has a page for
every module, filter, callback and role of the collection, and for every guide extra-docs.yml lists."""

from __future__ import annotations

import os
import subprocess

import yaml

from tests.helpers import REPO

SITE = REPO / '.cache' / 'docsite' / 'build' / 'html'


def plugin_names(kind):
    return sorted(p.stem for p in (REPO / 'plugins' / kind).glob('*.py') if p.stem != '__init__')


def test_the_docs_site_builds_with_a_page_for_everything():
    # the collection is installed already (make test): reinstalling it would pull it from under running tests
    done = subprocess.run(['bash', str(REPO / 'scripts' / 'docs.sh')], capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, DOCS_INSTALLED='1'), check=False)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    assert 'all from the intersphinx inventories this machine cannot reach' in done.stdout, done.stdout
    pages = {str(p.relative_to(SITE)) for p in SITE.rglob('*.html')}
    expected = ['%s_module.html' % m for m in plugin_names('modules')]
    expected += ['%s_filter.html' % f for f in plugin_names('filter')]
    expected += ['%s_callback.html' % c for c in plugin_names('callback')]
    expected += ['%s_role.html' % r.name for r in (REPO / 'roles').iterdir()]
    guides = yaml.safe_load((REPO / 'docs' / 'docsite' / 'extra-docs.yml').read_text())['sections']
    expected += ['docsite/%s.html' % entry['ref'] for section in guides for entry in section['toctree']]
    assert len(expected) > 40 and sorted(set(expected) - pages) == []
    # a guide's page carries the guide, and a link between guides became a link in the site
    how = (SITE / 'docsite' / 'how_it_works.html').read_text()
    assert 'Retiring' in how and 'href="benchmark.html' in how
    assert 'cutover_replicas' in (SITE / 'deploy_role.html').read_text()
