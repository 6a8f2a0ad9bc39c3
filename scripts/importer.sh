#!/usr/bin/env bash
# Run galaxy-importer (the checker Galaxy and Automation Hub run on upload) on the built collection tarball,
# with Automation Hub's stricter settings (tests/release/galaxy-importer.cfg). Fails on any error or warning.
#   usage: scripts/importer.sh [TARBALL]     (default: the one scripts/install-collection.sh built)
set -euo pipefail
cd "$(dirname "$0")/.."
tool=.cache/importer
stamp="$tool/.cutover-requirements"
if [ ! -x "$tool/bin/python" ] || ! cmp -s tests/release/requirements.txt "$stamp"; then
  python3 -m venv "$tool"
  "$tool/bin/pip" install -q -r tests/release/requirements.txt >.cache/importer-pip.log 2>&1 \
    || { tail -30 .cache/importer-pip.log >&2; exit 1; }
  cp tests/release/requirements.txt "$stamp"
fi
tarball=$(realpath "${1:-$(ls .cache/build/cutover-deploy-*.tar.gz)}")
log=$PWD/.cache/importer.log
# its ansible-lint and flake8 come from its own virtualenv; it writes importer_result.json where it runs
(cd .cache && GALAXY_IMPORTER_CONFIG=$PWD/../tests/release/galaxy-importer.cfg PATH="$PWD/importer/bin:$PATH" \
  importer/bin/python -m galaxy_importer.main "$tarball" >"$log" 2>&1) || true
if grep -qE '^(WARNING|ERROR)' "$log" || ! grep -q 'Importer processing completed successfully' "$log"; then
  grep -E '^(WARNING|ERROR)' "$log" || tail -20 "$log"
  echo "galaxy-importer: $(basename "$tarball") has errors or warnings (the whole output: $log)"
  exit 1
fi
echo "galaxy-importer: $(basename "$tarball") imports with 0 errors and 0 warnings (Automation Hub's settings)"
