#!/usr/bin/env bash
# Run `ansible-test sanity` on the collection as built and installed (.cache/collections), with
# no ignore file. This machine cannot download ansible-test's pip bootstrap script, so we place
# a stand-in in ansible-test's cache first (see the team's machine notes, shared/ENVIRONMENT.md, "ansible-test here").
set -euo pipefail
cd "$(dirname "$0")/.."
command=${1:?usage: scripts/ansible-test.sh sanity|units [arguments]}
shift
VENV=$(realpath "${VENV:-.venv}")
site=$("$VENV/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
pip_version=$(grep -oP "pip='\K[0-9.]+" "$site/_internal/python_requirements.py" | head -1)
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
mkdir -p "$(dirname "$cache")"
cat >"$cache" <<'PY'
# Stand-in for ansible-test's get-pip bootstrap (written by cutover scripts/ansible-test.sh): install
# pip with ensurepip, then pip-install what ansible-test asked for.
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
# ensurepip sets PIP_CONFIG_FILE=/dev/null in this process; that would hide the machine's pip
# configuration (its index and CA certificate), so drop it before calling pip.
os.environ.pop('PIP_CONFIG_FILE', None)
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args))
PY
# Outside this git checkout: inside it, ansible-test would list files through our git and skip
# the (git-ignored) install as "all targets skipped".
root=${CUTOVER_SANITY_ROOT:-/tmp/cutover-$command}
rm -rf "$root" && mkdir -p "$root"
# (make sanity installs once, then runs one sanity per ansible-core at the same time: SANITY_INSTALLED=1)
[ -n "${SANITY_INSTALLED:-}" ] || scripts/install-collection.sh >/dev/null
cp -a .cache/collections/ansible_collections "$root/"
cd "$root/ansible_collections/cutover/deploy"
py=$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# sanity in this virtualenv (its tools are ansible-test's own); units in a virtualenv of ansible-test's, so its
# pinned pytest does not replace ours
where=--local; [ "$command" = units ] && where=--venv
exec "$VENV/bin/ansible-test" "$command" "$where" --requirements --python "$py" "$@"
