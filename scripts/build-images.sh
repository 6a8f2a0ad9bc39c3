#!/usr/bin/env bash
# Build Cutover's demo/test images locally (there is no registry here): a 2 MB busybox root
# filesystem imported into each engine as demoapp:v1, demoapp:v2 and demoapp:v3.
# The app's behaviour is set through env, so one image covers every test case:
#   VERSION      text served at / and /version (baked per tag)
#   BOOT_DELAY   seconds before the HTTP server starts (a slow-booting app)
#   HEALTHY      0 = never serve /health (an image that never gets ready)
#   EXIT_AFTER   exit with code 3 after N seconds (a crashing app)
#   FAIL_EVERY   every Nth request to / answers 500 (a bad release for the canary analysis)
#   IGNORE_TERM  1 = ignore SIGTERM, as many apps run as PID 1 do (a stop then waits for the stop timeout)
# /cgi-bin/slow?N answers after N seconds (a long request in flight during a swap).
#   usage: [FORCE=1] scripts/build-images.sh [docker] [podman]   (default: both)
set -euo pipefail
want=${*:-docker podman}
REVISION=4
busybox=$(command -v busybox)
[ -n "$busybox" ] || { echo "error: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || ldd "$busybox" 2>&1 | grep -q 'not a dynamic' \
  || { echo "error: $busybox is not static (apt-get install busybox-static)" >&2; exit 1; }

root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,www/cgi-bin,tmp}
cp "$busybox" "$root/bin/busybox"
for a in sh httpd sleep cat echo rm mkdir kill wget date; do ln -s busybox "$root/bin/$a"; done
cat >"$root/bin/start" <<'SH'
#!/bin/sh
# demoapp entrypoint: see scripts/build-images.sh for the knobs.
# the SIGTERM disposition first: an app that honours SIGTERM does so while it boots too (as PID 1 with no
# trap yet it would ignore it, and a stop in its boot window would wait for the whole stop timeout)
if [ "${IGNORE_TERM:-0}" = 1 ]; then trap '' TERM; else trap 'exit 3' TERM; fi
if [ -n "$BOOT_DELAY" ]; then sleep "$BOOT_DELAY" & wait $!; fi
if [ -n "$FAIL_EVERY" ]; then
  # no index.html: httpd runs cgi-bin/index.cgi for /, which fails every FAIL_EVERY-th request
  echo "$FAIL_EVERY" > /tmp/fail_every
else
  echo "demoapp ${VERSION:-dev}" > /www/index.html
fi
echo "${VERSION:-dev}" > /www/version
[ "${HEALTHY:-1}" = "0" ] || echo ok > /www/health
if [ -n "$EXIT_AFTER" ]; then (sleep "$EXIT_AFTER"; kill 1) & fi
httpd -f -p "${PORT:-8080}" -h /www &
wait $!
SH
cat >"$root/www/cgi-bin/slow" <<'SH'
#!/bin/sh
sleep "${QUERY_STRING:-3}"
printf 'Content-Type: text/plain\r\n\r\nslow done %s\n' "$(cat /www/version)"
SH
cat >"$root/www/cgi-bin/index.cgi" <<'SH'
#!/bin/sh
n=$(cat /tmp/count 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > /tmp/count
if [ $((n % $(cat /tmp/fail_every))) -eq 0 ]; then
  printf 'Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\nfailed %s\n' "$(cat /www/version)"
else
  printf 'Content-Type: text/plain\r\n\r\ndemoapp %s\n' "$(cat /www/version)"
fi
SH
chmod +x "$root/bin/start" "$root/www/cgi-bin/slow" "$root/www/cgi-bin/index.cgi"
tar -C "$root" -cf "$root.tar" .
trap 'rm -rf "$root" "$root.tar"' EXIT

for e in $want; do
  # REVISION changes whenever the app's knobs do, so an older build is replaced
  if [ -z "${FORCE:-}" ] && [ "$("$e" image inspect -f '{{ index .Config.Labels "io.cutover.demoapp" }}' demoapp:v1 demoapp:v2 demoapp:v3 2>/dev/null | sort -u)" = "$REVISION" ]; then
    echo "$e: demoapp:v1 v2 v3 already built (FORCE=1 rebuilds)"; continue
  fi
  for v in v1 v2 v3; do
    "$e" import -c "ENV VERSION=$v" -c "LABEL io.cutover.demoapp=$REVISION" -c 'CMD ["/bin/start"]' -c 'EXPOSE 8080' "$root.tar" "demoapp:$v" >/dev/null
  done
  echo "$e: demoapp:v1 v2 v3 built"
done
