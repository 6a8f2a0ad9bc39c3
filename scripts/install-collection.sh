#!/usr/bin/env bash
# Build the collection tarball from this checkout and install it where the demo and tests look:
# .cache/collections (ANSIBLE_COLLECTIONS_PATH). Tests run against the built artifact, not the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
mkdir -p .cache/build .cache/collections
rm -f .cache/build/cutover-deploy-*.tar.gz
"$VENV/bin/ansible-galaxy" collection build --force --output-path .cache/build . >/dev/null
ANSIBLE_COLLECTIONS_PATH=.cache/collections "$VENV/bin/ansible-galaxy" collection install --force -p .cache/collections .cache/build/cutover-deploy-*.tar.gz >/dev/null
echo "setup: installed $(basename .cache/build/cutover-deploy-*.tar.gz) into .cache/collections"
