#!/usr/bin/env bash
# The collection's docs site, as antsibull-docs builds it: the guides' RST in step with docs/*.md, the docs
# lint, then sphinx-init and a Sphinx build of the installed collection (HTML in .cache/docsite/build/html).
# Offline here: Sphinx cannot fetch the intersphinx inventories of docs.ansible.com and python.org, and those
# warnings are the only ones allowed; the build says so.
#   usage: scripts/docs.sh            (fails when docs/docsite/rst is out of step with docs/*.md)
#          scripts/docs.sh --write    (writes docs/docsite/rst from docs/*.md first)
set -euo pipefail
cd "$(dirname "$0")/.."
tool=.cache/docs
stamp="$tool/.cutover-requirements"
if [ ! -x "$tool/bin/antsibull-docs" ] || ! cmp -s tests/release/docs-requirements.txt "$stamp"; then
  python3 -m venv "$tool"
  "$tool/bin/pip" install -q -r tests/release/docs-requirements.txt >.cache/docs-pip.log 2>&1 \
    || { tail -30 .cache/docs-pip.log >&2; exit 1; }
  cp tests/release/docs-requirements.txt "$stamp"
fi
pandoc=$("$tool/bin/python" -c 'import pypandoc; print(pypandoc.get_pandoc_path())')
if [ "${1:-}" = --write ]; then "$tool/bin/python" scripts/docsite.py "$pandoc"; fi
"$tool/bin/python" scripts/docsite.py "$pandoc" --check || { echo "docs: run scripts/docs.sh --write"; exit 1; }

# antsibull-docs reads the collection through ansible-doc (the main virtualenv's) where it is installed
[ -n "${DOCS_INSTALLED:-}" ] || scripts/install-collection.sh >/dev/null
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$PWD/.cache/collections"
docs_bin=$PWD/$tool/bin
(cd .cache/collections/ansible_collections/cutover/deploy && "$docs_bin/antsibull-docs" lint-collection-docs --plugin-docs .) || { echo "docs: antsibull-docs lint-collection-docs found errors"; exit 1; }

site=.cache/docsite
rm -rf "$site" && mkdir -p "$site"
"$tool/bin/antsibull-docs" sphinx-init --use-current --squash-hierarchy --fail-on-error --dest-dir "$site" \
  --title 'cutover.deploy' cutover.deploy >/dev/null
# its build.sh makes every Sphinx warning an error (-W): offline, the unreachable inventories always warn, so
# the warnings are judged below instead
sed -i 's/ -W --keep-going/ --keep-going/' "$site/build.sh"
grep -q -- '--keep-going$' "$site/build.sh" || { echo "docs: sphinx-init's build.sh changed; see scripts/docs.sh"; exit 1; }
# the theme and Sphinx itself, as sphinx-init asks for them
"$tool/bin/pip" install -q -r "$site/requirements.txt" >.cache/docs-pip.log 2>&1 \
  || { tail -30 .cache/docs-pip.log >&2; exit 1; }
(cd "$site" && PATH="$docs_bin:$PATH" ./build.sh) >.cache/docs-build.log 2>&1 \
  || { tail -40 .cache/docs-build.log; echo "docs: the Sphinx build failed (.cache/docs-build.log)"; exit 1; }
# allowed: an inventory Sphinx could not fetch, and a reference into the Ansible docsite it would have
# resolved (common_return_values and the like); anything about our own pages fails the build
warnings=$(grep -E 'WARNING|ERROR' .cache/docs-build.log || true)
other=$(grep -vE "failed to reach any of the inventories|undefined label: '[a-z_]+' \[ref.ref\]" <<<"$warnings" || true)
if [ -n "$other" ]; then
  echo "$other"; echo "docs: the Sphinx build warned of more than the unreachable intersphinx inventories"; exit 1
fi
echo "docs: built $site/build/html ($(find "$site/build/html" -name '*.html' | wc -l) pages), with" \
     "$(grep -c . <<<"$warnings" || true) warning(s), all from the intersphinx inventories this machine cannot reach"
echo "      (docs.ansible.com, docs.python.org): the inventories themselves, and the links into them they would resolve"
