"""The main job: a real blue-green deploy of a demo app on the local Docker engine, under load,
with its zero-downtime report.

Deploys demoapp v1 behind HAProxy on 127.0.0.1:8080 (Cutover's defaults: /etc/cutover,
/var/lib/cutover), then blue-greens to the other version while two non-retrying clients (keep-alive
and new-connection) send a bounded load through the proxy, and prints what they saw. The app stays
up at http://127.0.0.1:8080/ afterwards; `make demo-clean` removes it all.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import Load  # noqa: E402
from tests.helpers import REPO, run_playbook  # noqa: E402

SERVICE = 'demo'
LISTEN_PORT = 8080
STATE_DIR = Path('/var/lib/cutover')
# HAProxy's default settings, but its image: on a host without systemd (this one) the default HAProxy is a container,
# and no registry is reachable here for docker.io/library/haproxy:2.6 (`make demo` builds this one from the host's
# binary; the Makefile's status and rollback pass the same)
PROXY = dict(type='haproxy', listen='127.0.0.1:%d' % LISTEN_PORT, image='cutover-haproxy:local')
BASE_VARS = dict(cutover_service=SERVICE, cutover_container_port=8080, cutover_health=dict(path='/health', interval=0.5),
                 cutover_proxy=PROXY, cutover_stop_timeout=5,
                 cutover_public_env=dict(BOOT_DELAY='2'))


def deploy(image):
    started = time.monotonic()
    run = run_playbook(REPO / 'playbooks' / 'deploy.yml', dict(BASE_VARS, cutover_image=image))
    wall = time.monotonic() - started
    if run.rc != 0:
        print(run.stdout[-3000:], run.stderr[-2000:])
        raise SystemExit('demo: the deploy of %s failed (see above)' % image)
    return run, wall


def live_image():
    path = STATE_DIR / ('%s.json' % SERVICE)
    if not path.exists():
        return None
    return (json.loads(path.read_text()).get('live') or {}).get('image')


def clean():
    import docker  # pylint: disable=import-outside-toplevel
    client = docker.from_env()
    for c in client.containers.list(all=True, filters={'label': 'io.cutover.service=%s' % SERVICE}):
        c.remove(force=True)
        print('removed container', c.name)
    for c in client.containers.list(all=True, filters={'name': '^cutover-haproxy$'}):  # the default HAProxy
        c.remove(force=True)
        print('removed container', c.name)
    pid_file = Path('/run/cutover/haproxy/haproxy.pid')  # an unsupervised one (runtime host, or an older release)
    if pid_file.exists():
        for pid in pid_file.read_text().split():
            try:
                os.kill(int(pid), signal.SIGTERM)
                print('stopped haproxy', pid)
            except (ProcessLookupError, ValueError):
                pass
    for path in (Path('/etc/cutover/haproxy/service-%s.cfg' % SERVICE), STATE_DIR / ('%s.json' % SERVICE),
                 STATE_DIR / ('%s.lock' % SERVICE)):
        if path.exists():
            path.unlink()
            print('removed', path)


def serves(image):
    """Whether the route answers with the given demoapp version, so the load starts against a serving release."""
    try:
        with urllib.request.urlopen('http://127.0.0.1:%d/' % LISTEN_PORT, timeout=5) as resp:
            return resp.read().decode().strip() == 'demoapp %s' % image.rsplit(':', 1)[1]
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--clean', action='store_true', help='remove everything the demo started')
    args = parser.parse_args()
    if args.clean:
        clean()
        return

    current = live_image()
    if current is None:
        print('demo: deploying demoapp:v1 behind HAProxy on 127.0.0.1:%d ...' % LISTEN_PORT)
        deploy('demoapp:v1')
        current = 'demoapp:v1'
    else:
        # the proxy or the app may not have survived a restart of this machine since the last run:
        # status (under the deploy lock) starts the proxy and the live container again before the load starts
        status = run_playbook(REPO / 'playbooks' / 'status.yml', BASE_VARS)
        if status.rc != 0:
            print(status.stdout[-3000:], status.stderr[-2000:])
            raise SystemExit('demo: %s could not be served again (see above); `make demo-clean` starts over' % current)
        if not serves(current):
            # its container is gone (removed by hand, or the engine's data with it): deploying it again restores it
            print('demo: %s is recorded live but does not answer (its container is gone); deploying it again ...' % current)
            deploy(current)
            if not serves(current):
                raise SystemExit('demo: %s still does not answer on 127.0.0.1:%d; `make demo-clean` starts over'
                                 % (current, LISTEN_PORT))
    target = 'demoapp:v2' if current == 'demoapp:v1' else 'demoapp:v1'
    print('demo: %s is live; blue-green to %s under load (the new app takes 2 s to boot) ...' % (current, target))
    with Load('127.0.0.1', LISTEN_PORT, workers=2, keepalive=True, max_requests=200000, max_seconds=120) as keep, \
            Load('127.0.0.1', LISTEN_PORT, workers=2, keepalive=False, max_requests=200000, max_seconds=120) as fresh:
        keep.wait_for(200)
        fresh.wait_for(200)
        run, wall = deploy(target)
        keep.wait_for(200)
        fresh.wait_for(200)
    swap = run.task('Swap the route to green')['result']
    gate = run.task('Gate the new container on health')['result']
    print()
    print('Zero-downtime report: blue-green %s -> %s through HAProxy, non-retrying clients' % (current, target))
    print('  %-15s %9s %7s %-26s %8s %8s %8s' % ('client', 'requests', 'failed', 'answered by', 'p50 ms', 'p99 ms', 'max ms'))
    total_failed = 0
    for load in (keep, fresh):
        s = load.summary()
        total_failed += s['failed']
        versions = ', '.join('%s: %d' % kv for kv in sorted(s['versions'].items()))
        print('  %-15s %9d %7d %-26s %8s %8s %8s' % (s['mode'], s['requests'], s['failed'], versions,
                                                     s['p50_ms'], s['p99_ms'], s['max_ms']))
    print('  deploy wall time %.1f s; the health gate waited %.1f s for the new app; route swap %.1f ms; drain %.2f s'
          % (wall, gate['elapsed'], (swap.get('swap_seconds') or 0) * 1000, swap.get('drain_seconds') or 0))
    print('  %s' % ('ZERO failed requests.' if total_failed == 0 else '%d FAILED requests.' % total_failed))
    print()
    print('The app is live at http://127.0.0.1:%d/ (%s). Run `make demo` again to blue-green back,' % (LISTEN_PORT, target))
    print('`make status` for its releases, `make rollback` to return to the previous one, and `make demo-clean`')
    print('to remove it all.')
    if total_failed:
        raise SystemExit(1)


if __name__ == '__main__':
    main()
