#!/usr/bin/env bash
# Start (or check) the container engines and proxies' prerequisites this machine needs for
# Cutover's demo and tests. No systemd here, so we start the daemons ourselves, idempotently.
# Handles the three traps from the team's machine notes (shared/ENVIRONMENT.md): rlimits (no CAP_SYS_RESOURCE), crun vs cgroup
# layout (use runc), no registry (images are built locally by scripts/build-images.sh).
#   usage: scripts/engines.sh [docker] [podman]    (default: both)
set -euo pipefail
want=${*:-docker podman}
log_dir=${CUTOVER_LOG_DIR:-/var/log/cutover-engines}
mkdir -p "$log_dir"

wait_for_socket() {  # $1 socket path, $2 what, $3 log
  for _ in $(seq 1 60); do
    if curl -fsS --unix-socket "$1" http://d/_ping >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "error: $2 did not answer on $1 within 30 s; see $3" >&2
  tail -20 "$3" >&2 || true
  return 1
}

start_docker() {
  if curl -fsS --unix-socket /var/run/docker.sock http://d/_ping >/dev/null 2>&1; then
    echo "docker: already running"; return 0
  fi
  command -v dockerd >/dev/null || { echo "error: dockerd not installed (apt-get install docker.io)" >&2; return 1; }
  rm -f /var/run/docker.pid
  nohup dockerd --default-ulimit nofile=1024:1024 --default-ulimit nproc=4096:4096 \
    >"$log_dir/dockerd.log" 2>&1 &
  wait_for_socket /var/run/docker.sock dockerd "$log_dir/dockerd.log"
  echo "docker: started"
}

start_podman() {
  mkdir -p /etc/containers /run/podman
  conf=/etc/containers/containers.conf
  if ! grep -q 'cutover' "$conf" 2>/dev/null; then
    cat >"$conf" <<'CONF'
# written by cutover scripts/engines.sh: no CAP_SYS_RESOURCE here, and crun rejects this cgroup layout
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
  fi
  if curl -fsS --unix-socket /run/podman/podman.sock http://d/_ping >/dev/null 2>&1; then
    echo "podman: already running"; return 0
  fi
  command -v podman >/dev/null || { echo "error: podman not installed (apt-get install podman runc)" >&2; return 1; }
  rm -f /run/podman/podman.sock
  nohup podman system service --time=0 unix:///run/podman/podman.sock \
    >"$log_dir/podman.log" 2>&1 &
  wait_for_socket /run/podman/podman.sock podman "$log_dir/podman.log"
  echo "podman: started"
}

for e in $want; do
  case "$e" in
    docker) start_docker ;;
    podman) start_podman ;;
    *) echo "error: unknown engine '$e' (valid: docker, podman)" >&2; exit 2 ;;
  esac
done
