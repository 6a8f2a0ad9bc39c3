#!/usr/bin/env bash
# A test host with real systemd as PID 1, as on every Debian/RHEL/Ubuntu server: systemd-nspawn boots
# this machine's own root, read-only underneath, with a writable overlay kept on a tmpfs of its own, in
# a network namespace with a veth to this machine. Ansible reaches it over real SSH; Docker runs in it as
# docker.service. The overlay outlives the container, so a "reboot" (stop the container, boot it again)
# keeps what a play wrote under /etc, as a real reboot does, while the processes and /run are new.
#
#   scripts/systemd-host.sh up       boot it (idempotent); writes $SYS_DIR/inventory.yml
#   scripts/systemd-host.sh reboot   power it off and boot it again (what was enabled comes back)
#   scripts/systemd-host.sh down     stop it and remove every trace (overlay, engine data, namespace)
#   scripts/systemd-host.sh exec CMD ...   run a command inside it (all its namespaces)
#
# Address 10.231.0.250 inside, 10.231.0.249 on this machine's side: a /30 of the test fleet's network
# (scripts/fleet.sh, 10.231.0.0/24; the more specific route wins beside the fleet's bridge), so tests target
# only loopback and the fleet's namespace hosts. Trap (../shared/ENVIRONMENT.md): systemd must never boot over the shared
# root without the overlay, or its boot-time tmpfiles clean-up empties this machine's /tmp.
set -euo pipefail
cd "$(dirname "$0")/.."
SYS_DIR=${SYS_DIR:-/var/lib/cutover-systemd-host}
RUN=/run/cutover-systemd-host
NS=sdhost-cutover  # not cutover-*: scripts/fleet.sh down removes those namespaces
ADDR=10.231.0.250
VENV_DIR=$(cd "${VENV:-.venv}" && pwd)
PY=$VENV_DIR/bin/python  # the host's Python for Ansible: this checkout's virtualenv, bound in read-only
REPO=$(pwd)  # bound in too: a checkout on a mount of its own is not part of the root the overlay shows

leader() { cat "$RUN/leader" 2>/dev/null || true; }

running() { local pid; pid=$(leader); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

in_host() { nsenter -t "$(leader)" -a "$@"; }

prepare_overlay() {  # the writable layer and the files a fresh host needs; kept across reboots
  mkdir -p "$RUN/root" "$RUN/rw" "$SYS_DIR/docker" "$SYS_DIR/containers"
  if ! mountpoint -q "$RUN/rw"; then
    mount -t tmpfs -o size=4g,mode=755 cutover-sys "$RUN/rw"
    mkdir -p "$RUN/rw/upper" "$RUN/rw/work"
  fi
  mountpoint -q "$RUN/root" ||
    mount -t overlay cutover-sys -o "lowerdir=/,upperdir=$RUN/rw/upper,workdir=$RUN/rw/work" "$RUN/root"
  local r=$RUN/root etc=$RUN/root/etc/systemd/system
  [ -f "$r/etc/cutover-systemd-host" ] && return 0
  # this machine's own services stay off; the host runs sshd and Docker, like a fresh server
  for unit in caddy nginx haproxy docker-registry postgresql e2scrub_reap containerd \
              getty@tty1 console-getty systemd-networkd-wait-online; do
    ln -sf /dev/null "$etc/$unit.service"
  done
  rm -f "$etc/multi-user.target.wants/machines.target" "$etc/multi-user.target.wants/remote-fs.target"
  mkdir -p "$etc/docker.service.d" "$etc/ssh.service.d" "$r/root/.ssh"
  cat >"$etc/docker.service.d/cutover-test-host.conf" <<UNIT
[Unit]
Wants=
After=network.target docker.socket
[Service]
ExecStart=
ExecStart=/usr/sbin/dockerd -H fd:// --cgroup-parent cutover-systemd-host \\
  --default-ulimit nofile=1024:1024 --default-ulimit nproc=4096:4096
UNIT
  # nspawn mounts the cgroup v1 controllers and /proc/sys read-only; runc writes to the first (under
  # --cgroup-parent above), Podman's netavark to the second
  cat >"$etc/cutover-cgroups-rw.service" <<'UNIT'
[Unit]
Description=Writable cgroup controllers and sysctls for the engines (test host only)
DefaultDependencies=no
Before=docker.service podman.service
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'for d in /sys/fs/cgroup/*/ /proc/sys; do mount -o remount,bind,rw "$d"; done'
[Install]
WantedBy=multi-user.target
UNIT
  ln -sf ../cutover-cgroups-rw.service "$etc/multi-user.target.wants/cutover-cgroups-rw.service"
  cp "$SYS_DIR/client_key.pub" "$r/root/.ssh/authorized_keys"
  chmod 700 "$r/root/.ssh"
  touch "$r/etc/cutover-systemd-host"
}

make_namespace() {
  ip netns list | grep -qw "$NS" && return 0
  ip netns add "$NS"
  ip link add sdh-cutover type veth peer name eth0 netns "$NS"
  ip addr add 10.231.0.249/30 dev sdh-cutover
  ip link set sdh-cutover up
  ip -n "$NS" addr add "$ADDR/30" dev eth0
  ip -n "$NS" link set eth0 up
  ip -n "$NS" link set lo up
  ip -n "$NS" route add default via 10.231.0.249
}

boot() {
  running && return 0
  mkdir -p "$RUN"
  # a real boot starts with empty packet filters; this namespace outlives the machine, so empty them here (the
  # engines' port forwarding rules of the last boot, left first in their chains, would win over the new ones)
  local table
  for table in nat filter mangle; do
    nsenter --net="/run/netns/$NS" iptables -t "$table" -F 2>/dev/null || true
    nsenter --net="/run/netns/$NS" iptables -t "$table" -X 2>/dev/null || true
  done
  # the engine's data on a real folder: on the overlay dockerd fails ("invalid cross-device link")
  nohup systemd-nspawn --quiet --register=no --keep-unit -D "$RUN/root" -M cutover-sys \
    --network-namespace-path="/run/netns/$NS" --bind="$SYS_DIR/docker:/var/lib/docker" \
    --bind="$SYS_DIR/containers:/var/lib/containers" --capability=all \
    --bind-ro="$REPO" --bind-ro="$VENV_DIR" \
    --system-call-filter='@keyring bpf' \
    -b -- systemd.unit=multi-user.target >"$SYS_DIR/console.log" 2>&1 </dev/null &
  echo $! >"$RUN/nspawn.pid"
  local pid=''
  for _ in $(seq 1 100); do  # the container's PID 1 (systemd) is nspawn's child
    pid=$(pgrep -P "$(cat "$RUN/nspawn.pid")" -x systemd || true)
    [ -n "$pid" ] && break
    sleep 0.1
  done
  [ -n "$pid" ] || { echo "error: systemd did not start in the test host; see $SYS_DIR/console.log" >&2; exit 1; }
  echo "$pid" >"$RUN/leader"
  for _ in $(seq 1 120); do
    state=$(in_host systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
    sleep 0.5
  done
  for _ in $(seq 1 60); do
    in_host docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "error: Docker did not come up in the test host (system: $state); see $SYS_DIR/console.log" >&2
  in_host systemctl --failed --no-pager >&2 || true
  exit 1
}

poweroff() {
  running || { rm -f "$RUN/leader"; return 0; }
  local nspawn; nspawn=$(cat "$RUN/nspawn.pid")
  in_host systemctl poweroff --no-block >/dev/null 2>&1 || kill -RTMIN+4 "$(leader)" 2>/dev/null || true
  for _ in $(seq 1 120); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$nspawn" 2>/dev/null || true
  rm -f "$RUN/leader"
}

up() {
  mkdir -p "$SYS_DIR"
  [ -f "$SYS_DIR/client_key" ] || ssh-keygen -q -t ed25519 -N '' -C cutover-systemd-host -f "$SYS_DIR/client_key"
  make_namespace
  prepare_overlay
  boot
  if ! in_host docker image inspect demoapp:v1 >/dev/null 2>&1; then
    docker save demoapp:v1 demoapp:v2 demoapp:v3 | in_host docker load -q >/dev/null
  fi
  if ! in_host podman image exists localhost/demoapp:v1 2>/dev/null; then  # the overlay shows this folder's new files
    podman save -q -m localhost/demoapp:v1 localhost/demoapp:v2 localhost/demoapp:v3 -o "$SYS_DIR/podman-images.tar"
    in_host podman load -q -i "$SYS_DIR/podman-images.tar" >/dev/null
    rm -f "$SYS_DIR/podman-images.tar"
  fi
  cat >"$SYS_DIR/inventory.yml" <<YAML
all:
  hosts:
    sys:
      ansible_host: $ADDR
      ansible_user: root
      ansible_ssh_private_key_file: $SYS_DIR/client_key
      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
      ansible_python_interpreter: $PY
      ansible_pipelining: true
      cutover_publish_address: $ADDR
      cutover_image_prefix: ''
YAML
  echo "systemd host: up at $ADDR (systemd $(in_host systemctl --version | head -1 | awk '{print $2}')); inventory $SYS_DIR/inventory.yml"
}

down() {
  poweroff
  for m in "$RUN/root" "$RUN/rw"; do mountpoint -q "$m" && umount -l "$m"; done
  ip netns del "$NS" 2>/dev/null || true
  ip link del sdh-cutover 2>/dev/null || true
  rm -rf "$RUN" "$SYS_DIR/docker" "$SYS_DIR/containers"
  echo "systemd host: down"
}

case "${1:-}" in
  up) up ;;
  reboot) poweroff; boot; echo "systemd host: rebooted" ;;
  down) down ;;
  exec) shift; in_host "$@" ;;
  *) echo "usage: scripts/systemd-host.sh up | reboot | down | exec CMD ..." >&2; exit 2 ;;
esac
