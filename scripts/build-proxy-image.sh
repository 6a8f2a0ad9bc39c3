#!/usr/bin/env bash
# Build an HAProxy image from this host's /usr/sbin/haproxy and the libraries ldd lists, for the
# proxy role's container runtime where no registry is reachable (the official image is
# docker.io/library/haproxy:2.6). Tagged cutover-haproxy:local.
#   usage: scripts/build-proxy-image.sh [docker|podman ...]   (default: docker)
set -euo pipefail
want=${*:-docker}
bin=$(command -v haproxy) || { echo "error: haproxy not installed (apt-get install haproxy)" >&2; exit 1; }
root=$(mktemp -d); trap 'rm -rf "$root" "$root.tar"' EXIT
mkdir -p "$root/usr/sbin" "$root/tmp" "$root/etc"
cp "$bin" "$root/usr/sbin/haproxy"
for lib in $(ldd "$bin" | grep -oE '/[^ ]+'); do
  mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
tar -C "$root" -cf "$root.tar" .
for e in $want; do
  "$e" import -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["haproxy", "-W", "-db", "-f", "/etc/cutover/haproxy"]' \
    "$root.tar" cutover-haproxy:local >/dev/null 2>&1
  echo "$e: cutover-haproxy:local built"
done
