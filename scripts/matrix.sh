#!/usr/bin/env bash
# The supported ansible-core versions, each in its own virtualenv with the collection installed by
# that version's ansible-galaxy. The main virtualenv (.venv, ansible-core 2.19) runs everything; the
# others run the unit tests, one real deploy (tests/integration/test_matrix.py) and, for the oldest
# and newest, ansible-test sanity (make test).
#   scripts/matrix.sh versions          the matrix, one "CORE PYTHON" per line
#   scripts/matrix.sh setup CORE        make .cache/matrix/core-CORE (idempotent); prints its path
set -euo pipefail
cd "$(dirname "$0")/.."
# lean: the oldest, the main virtualenv's and the newest (2.18 and 2.20 lie between two tested versions)
MATRIX=("2.17 3.11" "2.19 3.11" "2.21 3.12")

find_python() {  # $1 e.g. 3.12: pyenv's, else on PATH (a pyenv shim on PATH may not run)
  local p
  for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/"python$1" "$(command -v "python$1" || true)"; do
    [ -x "$p" ] && "$p" -c 'import venv' 2>/dev/null && { echo "$p"; return 0; }
  done
  echo "error: no python$1 (ansible-core needs it); install it or add it to PATH" >&2
  return 1
}

setup() {  # $1 core version
  local core=$1 py="" line dir
  for line in "${MATRIX[@]}"; do [ "${line%% *}" = "$core" ] && py=${line##* }; done
  [ -n "$py" ] || { echo "error: ansible-core $core is not in the matrix (${MATRIX[*]})" >&2; exit 2; }
  dir=.cache/matrix/core-$core
  local pkgs=("ansible-core==$core.*" 'docker>=7.0' 'requests>=2.28' 'pytest>=8' pyyaml prometheus-client)
  # .ready names what was installed: a changed list makes the virtualenv again
  if [ ! -x "$dir/bin/ansible-playbook" ] || [ "$(cat "$dir/.ready" 2>/dev/null)" != "${pkgs[*]}" ]; then
    rm -rf "$dir"
    "$(find_python "$py")" -m venv "$dir"
    "$dir/bin/pip" install -q "${pkgs[@]}" >"$dir.pip.log" 2>&1 || { tail -20 "$dir.pip.log" >&2; exit 1; }
    echo "${pkgs[*]}" >"$dir/.ready"
  fi
  compgen -G '.cache/build/cutover-deploy-*.tar.gz' >/dev/null || scripts/install-collection.sh >/dev/null
  ANSIBLE_COLLECTIONS_PATH="$dir/collections" "$dir/bin/ansible-galaxy" collection install --force \
    -p "$dir/collections" .cache/build/cutover-deploy-*.tar.gz >/dev/null
  realpath "$dir"
}

case "${1:-}" in
  versions) printf '%s\n' "${MATRIX[@]}" ;;
  setup) setup "$2" ;;
  *) echo "usage: $0 versions | setup CORE" >&2; exit 2 ;;
esac
