#!/usr/bin/env bash
# Install everything Cutover's demo, tests and benchmark need on a fresh Debian 12 machine, and
# build + install the collection from this checkout. Idempotent: re-running skips what is there.
#   usage: scripts/setup.sh            (VENV=.venv by default)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}

need_apt=()
for pair in dockerd:docker.io podman:podman runc:runc haproxy:haproxy caddy:caddy nginx:nginx \
            curl:curl socat:socat openssl:openssl /usr/sbin/sshd:openssh-server git:git \
            docker-compose:docker-compose podman-compose:podman-compose \
            docker-registry:docker-registry skopeo:skopeo htpasswd:apache2-utils \
            systemd-nspawn:systemd-container pebble:pebble lego:lego shellcheck:shellcheck; do
  # registry.sh: docker-registry, skopeo, htpasswd; systemd-host.sh: nspawn; ACME on HAProxy and nginx: lego; its tests:
  # pebble (RFC 8555 test server + challtestsrv); sanity's shellcheck test (skipped without it)
  command -v "${pair%%:*}" >/dev/null 2>&1 || need_apt+=("${pair#*:}")
done
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static || need_apt+=(busybox-static)
command -v file >/dev/null 2>&1 || need_apt+=(file)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "error: need root to apt-get install ${need_apt[*]}" >&2; exit 1; fi
  echo "setup: apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" \
    iptables uidmap slirp4netns fuse-overlayfs >/dev/null
fi
# Debian starts nginx/haproxy on install where it can; Cutover starts its own instances.

mkdir -p .cache
stamp="$VENV/.cutover-requirements"
if [ ! -x "$VENV/bin/ansible-playbook" ] || ! cmp -s requirements-dev.txt "$stamp"; then
  echo "setup: virtualenv $VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q -r requirements-dev.txt >.cache/pip.log 2>&1 \
    || { tail -30 .cache/pip.log >&2; exit 1; }
  cp requirements-dev.txt "$stamp"
fi
scripts/install-collection.sh
