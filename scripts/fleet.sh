#!/usr/bin/env bash
# A test fleet on this machine: app hosts and a load-balancer host, each a network namespace with
# its own engine (Docker or Podman), its own state folders and its own sshd, reachable over real SSH
# with a key made for the fleet. Used by the fleet tests and `make bench-fleet`; targets nothing
# outside loopback and these namespaces (../shared/ENVIRONMENT.md, "Several hosts on one machine").
#
#   scripts/fleet.sh up ENGINE [ENGINE ...]   one app host per ENGINE (docker|podman), plus the LB host
#   scripts/fleet.sh down                     stop every daemon, remove the namespaces and the bridge
#   scripts/fleet.sh ssh-stop NAME | ssh-start NAME   make a host unreachable (its sshd and sessions
#                                             gone) or reachable again, as a host that drops off the network
#
# Addresses: bridge br-fleet 10.231.0.1/24 in the root namespace, the LB host "lb" 10.231.0.10,
# app host N "appN" 10.231.0.(10+N). `up` writes $FLEET_DIR/inventory.yml (the hosts, their SSH key,
# engine sockets and state folders). The namespaces share this machine's filesystem, so a host's
# Python is this checkout's virtualenv (it has the docker SDK, as python3-docker would on a real host).
set -euo pipefail
cd "$(dirname "$0")/.."
FLEET_DIR=${FLEET_DIR:-/var/lib/cutover-fleet}
RUN_DIR=/run/cutover-fleet
PY=$(cd "${VENV:-.venv}/bin" && pwd)/python
BRIDGE=br-fleet

ns_run() { nsenter --net="/var/run/netns/$1" "${@:2}"; }

wait_ping() {  # $1 socket, $2 log
  for _ in $(seq 1 80); do
    curl -fsS --unix-socket "$1" http://d/_ping >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  echo "error: no engine answered on $1 within 20 s; see $2" >&2; tail -20 "$2" >&2; return 1
}

add_host() {  # $1 name, $2 address
  local name=$1 addr=$2 ns=cutover-$1
  ip netns add "$ns"
  ip link add "cv-$name" type veth peer name eth0 netns "$ns"
  ip link set "cv-$name" master "$BRIDGE" up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" route add default via 10.231.0.1
  mkdir -p "$FLEET_DIR/$name" "$RUN_DIR/$name"
  echo "$addr" >"$RUN_DIR/$name/address"
  start_sshd "$name"
}

start_sshd() {  # $1 name
  local name=$1 addr; addr=$(cat "$RUN_DIR/$1/address")
  ns_run "cutover-$name" /usr/sbin/sshd -f /dev/null -o "ListenAddress=$addr" -o Port=22 \
    -o "HostKey=$FLEET_DIR/host_key" -o "AuthorizedKeysFile=$FLEET_DIR/authorized_keys" \
    -o PermitRootLogin=prohibit-password -o StrictModes=no -o UsePAM=no -o MaxStartups=50 \
    -o "PidFile=$RUN_DIR/$name/sshd.pid" -o "Subsystem=sftp /usr/lib/openssh/sftp-server"
}

stop_sshd() {  # $1 name: the listener, every session, and the controller's shared connections to it
  kill_pidfile "$RUN_DIR/$1/sshd.pid" "cutover-$1"
  for pid in $(ip netns pids "cutover-$1"); do
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sshd ]; then kill -9 "$pid" 2>/dev/null || true; fi
  done
  rm -f "$RUN_DIR"/cm-* 2>/dev/null || true
}

start_docker() {  # $1 name, $2 host number
  local name=$1 d=$FLEET_DIR/$1 r=$RUN_DIR/$1
  ns_run "cutover-$name" nohup dockerd --data-root "$d/docker" --exec-root "$r/docker" \
    --pidfile "$r/docker.pid" -H "unix://$r/docker.sock" --bip "10.232.$2.1/24" \
    --default-ulimit nofile=1024:1024 --default-ulimit nproc=4096:4096 >"$d/dockerd.log" 2>&1 &
  wait_ping "$r/docker.sock" "$d/dockerd.log"
  # the demo app, and HAProxy (an app host's own proxy runs as a container on its engine: no systemd here)
  docker save demoapp:v1 demoapp:v2 demoapp:v3 cutover-haproxy:local | docker -H "unix://$r/docker.sock" load -q >/dev/null
}

start_podman() {  # $1 name
  local name=$1 d=$FLEET_DIR/$1 r=$RUN_DIR/$1
  local p=(podman --root "$d/containers" --runroot "$r/containers")
  mkdir -p "$r/podman"
  ns_run "cutover-$name" nohup "${p[@]}" system service --time=0 "unix://$r/podman/podman.sock" \
    >"$d/podman.log" 2>&1 &
  echo $! >"$r/podman.pid"
  wait_ping "$r/podman/podman.sock" "$d/podman.log"
  podman save -q localhost/demoapp:v1 localhost/demoapp:v2 localhost/demoapp:v3 localhost/cutover-haproxy:local -m \
    -o "$r/images.tar"
  "${p[@]}" load -q -i "$r/images.tar" >/dev/null
  rm -f "$r/images.tar"
}

host_entry() {  # $1 name, $2 address, $3 engine or "" for the LB
  local engine_vars=''
  case "$3" in
    docker) engine_vars="      cutover_engine: {type: docker, host: 'unix://$RUN_DIR/$1/docker.sock'}
      cutover_image_prefix: ''" ;;
    podman) engine_vars="      cutover_engine: {type: podman, host: 'unix://$RUN_DIR/$1/podman/podman.sock'}
      cutover_image_prefix: 'localhost/'" ;;
  esac
  cat <<YAML
    $1:
      ansible_host: $2
      cutover_state_dir: $FLEET_DIR/$1/cutover
      cutover_publish_address: $2
$engine_vars
YAML
}

up() {
  [ $# -ge 1 ] || { echo "usage: scripts/fleet.sh up ENGINE [ENGINE ...]  (docker|podman)" >&2; exit 2; }
  for e in "$@"; do
    case "$e" in docker|podman) ;; *) echo "error: unknown engine '$e' (valid: docker, podman)" >&2; exit 2 ;; esac
  done
  [ $# -le 20 ] || { echo "error: at most 20 app hosts" >&2; exit 2; }
  down >/dev/null 2>&1 || true
  bash scripts/engines.sh "$@" >/dev/null
  bash scripts/build-images.sh "$@" >/dev/null
  mkdir -p "$FLEET_DIR" "$RUN_DIR" /run/sshd
  [ -f "$FLEET_DIR/client_key" ] || ssh-keygen -q -t ed25519 -N '' -C cutover-fleet -f "$FLEET_DIR/client_key"
  [ -f "$FLEET_DIR/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$FLEET_DIR/host_key"
  cp "$FLEET_DIR/client_key.pub" "$FLEET_DIR/authorized_keys"
  ip link add "$BRIDGE" type bridge
  ip addr add 10.231.0.1/24 dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # the root namespace's dockerd sets the FORWARD policy to DROP, and bridged frames pass iptables
  # (br_netfilter): let the fleet's hosts reach each other (the LB host -> the app hosts' containers)
  iptables -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT

  add_host lb 10.231.0.10
  local inventory lb_entry
  lb_entry=$(host_entry lb 10.231.0.10 '' | sed 's/^/    /')
  inventory="all:
  vars:
    ansible_user: root
    ansible_ssh_private_key_file: $FLEET_DIR/client_key
    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ControlMaster=auto -o ControlPersist=120s -o ControlPath=$RUN_DIR/cm-%C
    ansible_python_interpreter: $PY
    ansible_pipelining: true  # one SSH round trip per module instead of three (docs/fleet.md)
  children:
    lb:
      hosts:
$lb_entry
    app:
      hosts:"
  local n=0 pids=()
  for engine in "$@"; do
    n=$((n + 1))
    add_host "app$n" "10.231.0.$((10 + n))"
    "start_$engine" "app$n" "$n" &
    pids+=($!)
    inventory="$inventory
$(host_entry "app$n" "10.231.0.$((10 + n))" "$engine" | sed 's/^/    /')"
  done
  for pid in "${pids[@]}"; do wait "$pid" || { echo "error: an engine of the fleet did not start" >&2; exit 1; }; done
  printf '%s\n' "$inventory" >"$FLEET_DIR/inventory.yml"
  echo "fleet: lb + $n app hosts ($*) up; inventory $FLEET_DIR/inventory.yml"
}

kill_pidfile() {  # $1 pid file, $2 the namespace its process runs in
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  # a stale pid file's pid may belong to another process by now: only a process in the host's namespace is ours
  [ -n "$pid" ] && [ "$(ip netns identify "$pid" 2>/dev/null)" = "$2" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
}

down() {
  for ns in $(ip netns list | awk '/^cutover-/ {print $1}'); do
    local name=${ns#cutover-} r=$RUN_DIR/${ns#cutover-}
    # containers first (Podman's run without a daemon to stop them), then the daemons
    if [ -S "$r/podman/podman.sock" ]; then
      ns_run "$ns" podman --root "$FLEET_DIR/$name/containers" --runroot "$r/containers" rm -af -t 0 >/dev/null 2>&1 || true
    fi
    if [ -S "$r/docker.sock" ]; then
      docker -H "unix://$r/docker.sock" ps -aq | xargs -r docker -H "unix://$r/docker.sock" rm -f >/dev/null 2>&1 || true
    fi
    for pidfile in "$r"/*.pid; do kill_pidfile "$pidfile" "$ns"; done
    # anything else still in the namespace (a proxy the deploys started, conmon, docker-proxy)
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  # a namespace the kernel keeps alive a while (a socket still closing) keeps its veth: remove them here
  for link in $(ip -o link show | awk -F': ' '{print $2}' | awk -F@ '/^cv-/ {print $1}'); do
    ip link del "$link" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || true
  # engine data is per run: a fresh fleet starts empty (mounts under it are gone with the daemons)
  for d in "$FLEET_DIR"/lb "$FLEET_DIR"/app*; do
    [ -d "$d" ] || continue
    umount -R "$d"/docker/* 2>/dev/null || true
    rm -rf "$d" 2>/dev/null || true
  done
  rm -rf "$RUN_DIR"
  echo "fleet: down"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  ssh-stop) stop_sshd "${2:?host name}" ;;
  ssh-start) start_sshd "${2:?host name}" ;;
  *) echo "usage: scripts/fleet.sh up ENGINE [ENGINE ...] | down | ssh-stop NAME | ssh-start NAME" >&2; exit 2 ;;
esac
