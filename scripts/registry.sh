#!/usr/bin/env bash
# A private registry on this machine for the registry tests: Debian's docker-registry (distribution
# v2) on 127.0.0.1 only, with TLS from a test CA and htpasswd (bcrypt) auth, and the demo images
# pushed into it with skopeo. Nothing is installed in the engines' trust folders: the tests give
# the CA to Cutover (cutover_registry.ca_cert), which installs it for the engine it pulls with.
#
#   scripts/registry.sh up      start it (idempotent) and push demoapp:v1/v2/v3 as team/demoapp
#   scripts/registry.sh push SRC DEST-TAG     copy a local Docker image to team/demoapp:DEST-TAG
#   scripts/registry.sh down    stop it
#
# $REGISTRY_DIR (default /var/lib/cutover-registry) holds ca.crt, the user name and password
# (user, password: made here, for tests only), the config, the storage and registry.log.
set -euo pipefail
cd "$(dirname "$0")/.."
REGISTRY_DIR=${REGISTRY_DIR:-/var/lib/cutover-registry}
PORT=${REGISTRY_PORT:-5443}
HOST=127.0.0.1:$PORT
PID_FILE=/run/cutover-registry.pid

need() {
  local missing=()
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v skopeo >/dev/null || missing+=(skopeo)
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

make_certs() {  # a test CA and a server certificate for 127.0.0.1
  [ -s "$REGISTRY_DIR/server.crt" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Cutover test registry CA" \
    -keyout "$REGISTRY_DIR/ca.key" -out "$REGISTRY_DIR/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$REGISTRY_DIR/server.key" -out "$REGISTRY_DIR/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$REGISTRY_DIR/server.ext"
  openssl x509 -req -in "$REGISTRY_DIR/server.csr" -CA "$REGISTRY_DIR/ca.crt" -CAkey "$REGISTRY_DIR/ca.key" \
    -CAcreateserial -days 3650 -extfile "$REGISTRY_DIR/server.ext" -out "$REGISTRY_DIR/server.crt" 2>/dev/null
}

make_user() {
  [ -s "$REGISTRY_DIR/htpasswd" ] && return 0
  echo deployer >"$REGISTRY_DIR/user"
  (umask 077; openssl rand -hex 16 >"$REGISTRY_DIR/password")
  htpasswd -Bbn deployer "$(cat "$REGISTRY_DIR/password")" >"$REGISTRY_DIR/htpasswd"
}

# the pid file's process is our registry: a pid alone can be any process after a reboot or pid reuse
# (seen in CI: a stale pid file made every registry test fail, with no registry ever started)
running() {
  [ -f "$PID_FILE" ] || return 1
  tr '\0' ' ' <"/proc/$(cat "$PID_FILE")/cmdline" 2>/dev/null | grep -qF "docker-registry serve $REGISTRY_DIR/config.yml"
}

push() {  # $1 local Docker image, $2 tag in team/demoapp
  mkdir -p "$REGISTRY_DIR/push-certs"
  cp "$REGISTRY_DIR/ca.crt" "$REGISTRY_DIR/push-certs/ca.crt"
  skopeo copy --quiet --dest-cert-dir "$REGISTRY_DIR/push-certs" \
    --dest-creds "$(cat "$REGISTRY_DIR/user"):$(cat "$REGISTRY_DIR/password")" \
    "docker-daemon:$1" "docker://$HOST/team/demoapp:$2"
}

up() {
  need
  mkdir -p "$REGISTRY_DIR/storage"
  make_certs
  make_user
  cat >"$REGISTRY_DIR/config.yml" <<EOF
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $REGISTRY_DIR/storage}
  delete: {enabled: true}
http:
  addr: $HOST
  tls: {certificate: $REGISTRY_DIR/server.crt, key: $REGISTRY_DIR/server.key}
auth:
  htpasswd: {realm: cutover-test, path: $REGISTRY_DIR/htpasswd}
EOF
  if ! running; then
    setsid docker-registry serve "$REGISTRY_DIR/config.yml" >"$REGISTRY_DIR/registry.log" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
  fi
  for _ in $(seq 1 150); do  # up to 30 s: a busy machine (two test workers, sanity) starts it slowly
    # 401 without credentials: up, TLS verified against our CA, auth on
    [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$REGISTRY_DIR/ca.crt" "https://$HOST/v2/")" = 401 ] && break
    sleep 0.2
  done
  [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$REGISTRY_DIR/ca.crt" "https://$HOST/v2/")" = 401 ] \
    || { echo "error: the registry did not answer on $HOST; see $REGISTRY_DIR/registry.log" >&2; exit 1; }
  for tag in v1 v2 v3; do push "demoapp:$tag" "$tag"; done
  echo "registry: https://$HOST (user $(cat "$REGISTRY_DIR/user"), CA $REGISTRY_DIR/ca.crt)"
}

down() {
  if running; then kill "$(cat "$PID_FILE")"; fi
  rm -f "$PID_FILE"
}

case "${1:-}" in
  up) up ;;
  push) push "$2" "$3" ;;
  down) down ;;
  *) echo "usage: $0 up | push SRC TAG | down" >&2; exit 2 ;;
esac
