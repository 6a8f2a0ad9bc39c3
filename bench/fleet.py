"""Cutover's fleet benchmark (`make bench-fleet`; results in bench/results/).

The shared-load-balancer topology on the test fleet (scripts/fleet.sh: app hosts as network
namespaces with their own engine and sshd, reached over real SSH, one HAProxy on the LB host).
For each N (app hosts, Docker and Podman alternating): deploy v1, then under a constant bounded
load through the load balancer from two non-retrying clients (keep-alive and new-connection),
v2 with all N hosts in one batch, then v3 with `cutover_serial: 1`.

Per run it records failed requests per client, the wall time, Cutover's overhead per host (the
wall time minus the gate's wait for the app's boot and the drain, per host for the serial run),
and the ratio wall(N, one batch) / wall(1, one batch). A sampler reads HAProxy's `show stat` every
100 ms for a timeline of requests per 100 ms by answering host; the clients give the versions.
With --mitogen (the `mitogen` package installed), the same runs are repeated with Mitogen's
strategy, an optional accelerator Cutover does not require. Counts and ratios from one run.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import Load  # noqa: E402
from bench.plotting import pyplot  # noqa: E402
from tests.helpers import COLLECTIONS, REPO, run_playbook  # noqa: E402

sys.path.insert(0, str(COLLECTIONS))  # the collection as installed by scripts/install-collection.sh
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import HAProxy  # noqa: E402

RESULTS = REPO / 'bench' / 'results'
FLEET_DIR = Path('/var/lib/cutover-fleet')
ADMIN = '/run/cutover-fleet/lb/haproxy/admin.sock'
LB = '10.231.0.10'


class StatSampler:
    """Total sessions per server of a backend from HAProxy's `show stat`, every 100 ms (bounded)."""

    def __init__(self, backend, max_seconds=900):
        self.backend, self.max_seconds = backend, max_seconds
        self.samples = []  # (t, {server: stot})
        self.stop = threading.Event()
        self.t0 = None

    def _run(self):
        haproxy = HAProxy(ADMIN)
        while not self.stop.is_set() and time.monotonic() - self.t0 < self.max_seconds:
            try:
                rows = csv.DictReader(io.StringIO(haproxy.command('show stat').lstrip('# ')))
                totals = {r['svname']: int(r['stot'] or 0) for r in rows
                          if r.get('pxname') == self.backend and r['svname'] not in ('FRONTEND', 'BACKEND')}
                self.samples.append((round(time.monotonic() - self.t0, 2), totals))
            except Exception:  # pylint: disable=broad-except
                pass  # a sample lost during a reload; the next one covers it
            self.stop.wait(0.1)

    def __enter__(self):
        self.t0 = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)

    def per_host(self):
        """[(t, {host: requests in this 100 ms})] from the counters' deltas (both slots of a host)."""
        out = []
        for (_t0, a), (t1, b) in zip(self.samples, self.samples[1:]):
            hosts = {}
            for server, total in b.items():
                host = server.rsplit('_', 1)[0]
                hosts[host] = hosts.get(host, 0) + max(0, total - a.get(server, 0))
            out.append((t1, hosts))
        return out


def inventory_for(service, hosts, port, tmp):
    with open(FLEET_DIR / 'inventory.yml') as f:
        inventory = yaml.safe_load(f)
    inventory['all']['vars'].update(
        cutover_service=service, cutover_container_port=8080, cutover_stop_timeout=5, cutover_drain_timeout=10,
        cutover_health=dict(path='/health', interval=0.2), cutover_hosts=','.join(hosts),
        cutover_proxy=dict(host='lb', listen='%s:%d' % (LB, port), config_dir=str(FLEET_DIR / 'lb' / 'haproxy'),
                           admin_socket=ADMIN, state_file=str(FLEET_DIR / 'lb' / 'hp' / 'state'),
                           runtime='host'))  # the fleet's LB host runs no engine (tests/integration/test_fleet.py)
    path = tmp / ('%s.json' % service)
    path.write_text(json.dumps(inventory))
    return path


def deploy(inventory, tag, hosts, boot_delay, env, **extra):
    v = dict(cutover_hosts=','.join(hosts), cutover_image='{{ cutover_image_prefix }}demoapp:%s' % tag,
             cutover_public_env=dict(BOOT_DELAY=str(boot_delay)))
    v.update(extra)
    started = time.monotonic()
    run = run_playbook(REPO / 'playbooks' / 'deploy.yml', v, inventory=inventory, env=env, timeout=1800)
    wall = time.monotonic() - started
    if run.rc != 0:
        raise SystemExit('bench-fleet: deploy of %s failed:\n%s' % (tag, run.stdout[-4000:]))
    per_host = {}
    for r in run.results:
        if r['status'] == 'ok' and r['task'].endswith('Gate the new container on health'):
            per_host.setdefault(r['host'], {})['gate'] = r['result']['elapsed']
        if r['status'] == 'ok' and r['task'].endswith('Swap the route to green'):
            per_host.setdefault(r['host'], {})['drain'] = r['result'].get('drain_seconds') or 0
    return run, wall, per_host


def one_n(n, hosts, boot_delay, rate, tmp, env, label):
    service = 'bf%s%d' % (label[:1], n)
    port = 8300 + n + (50 if label == 'mitogen' else 0)
    inventory = inventory_for(service, hosts, port, tmp)
    deploy(inventory, 'v1', hosts, boot_delay, env)
    runs = {}
    with StatSampler(service) as sampler, \
            Load(LB, port, workers=2, keepalive=True, max_seconds=1200, rate=rate) as keep, \
            Load(LB, port, workers=2, keepalive=False, max_seconds=1200, rate=rate) as fresh:
        keep.wait_for(20)
        for name, tag, extra in (('one_batch', 'v2', {}), ('serial_1', 'v3', dict(cutover_serial=1))):
            f0, k0 = fresh.failed, keep.failed
            t0 = time.monotonic() - keep.t0
            _run, wall, per_host = deploy(inventory, tag, hosts, boot_delay, env, **extra)
            t1 = time.monotonic() - keep.t0
            waits = [max(boot_delay, h.get('gate', 0)) + h.get('drain', 0) for h in per_host.values()]
            # one batch: hosts run side by side, so the run waits once (the longest host); serial: once per host
            waited = max(waits) if name == 'one_batch' else sum(waits)
            runs[name] = dict(wall=round(wall, 2), start=round(t0, 2), end=round(t1, 2),
                              failed_keepalive=keep.failed - k0, failed_newconn=fresh.failed - f0,
                              overhead=round(wall - waited, 2),
                              overhead_per_host=round((wall - waited) / (1 if name == 'one_batch' else n), 2),
                              gate_and_drain=[round(w, 2) for w in waits])
            print('  %-8s N=%d %-9s wall %6.1fs  overhead/host %5.1fs  failed keep-alive %d, new-conn %d'
                  % (label, n, name, wall, runs[name]['overhead_per_host'], runs[name]['failed_keepalive'],
                     runs[name]['failed_newconn']), flush=True)
        time.sleep(0.5)
    return dict(n=n, label=label, hosts=hosts, runs=runs, totals=dict(keepalive=keep.summary(), newconn=fresh.summary()),
                timeline=dict(hosts=sampler.per_host(), versions=version_bins(keep.events + [
                    (e[0] + (fresh.t0 - keep.t0), e[1], e[2]) for e in fresh.events])))


def version_bins(events):
    bins = {}
    for t, version, _lat in events:
        key = int(t * 10)
        bins.setdefault(key, {}).setdefault(version or 'failed', 0)
        bins[key][version or 'failed'] += 1
    return sorted((k / 10, v) for k, v in bins.items())


def plot(results, path):
    plt = pyplot('bench-fleet')
    if plt is None:
        return
    fig, axes = plt.subplots(len(results), 2, figsize=(18, 3.5 * len(results)), squeeze=False)
    for row, res in zip(axes, results):
        hosts = sorted({h for _t, d in res['timeline']['hosts'] for h in d})
        for host in hosts:
            row[0].plot([t for t, _d in res['timeline']['hosts']], [d.get(host, 0) for _t, d in res['timeline']['hosts']],
                        label=host, linewidth=0.8)
        for version in ('v1', 'v2', 'v3', 'failed'):
            pts = [(t, d.get(version, 0)) for t, d in res['timeline']['versions']]
            if any(c for _t, c in pts):
                row[1].plot([t for t, _c in pts], [c for _t, c in pts], label=version, linewidth=0.8,
                            color='red' if version == 'failed' else None)
        for ax in row:
            for run in res['runs'].values():
                ax.axvspan(run['start'], run['end'], color='grey', alpha=0.08)
            ax.set_xlabel('seconds')
            ax.legend(loc='upper right', fontsize=7)
        row[0].set_title('%s N=%d: requests per 100 ms by answering host (HAProxy show stat)' % (res['label'], res['n']))
        row[1].set_title('%s N=%d: requests per 100 ms by version (clients); grey: one batch, then serial 1'
                         % (res['label'], res['n']))
    fig.tight_layout()
    fig.savefig(path, dpi=70)


def mitogen_env():
    try:
        import ansible_mitogen  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise SystemExit('bench-fleet: --mitogen needs the mitogen package (pip install mitogen)')
    return dict(ANSIBLE_STRATEGY_PLUGINS=str(Path(ansible_mitogen.__file__).parent / 'plugins' / 'strategy'),
                ANSIBLE_STRATEGY='mitogen_linear')


def main():
    parser = argparse.ArgumentParser(description='Cutover fleet benchmark (shared load balancer)')
    parser.add_argument('--hosts', default='1,2,4', help='app host counts to measure')
    parser.add_argument('--boot-delay', type=float, default=2)
    parser.add_argument('--rate', type=float, default=50, help='requests/s per worker (2 workers per client)')
    parser.add_argument('--mitogen', action='store_true', help='repeat every N with Mitogen\'s strategy')
    parser.add_argument('--keep-fleet', action='store_true', help='leave the fleet up afterwards')
    args = parser.parse_args()
    counts = [int(x) for x in args.hosts.split(',')]
    engines = ['docker' if i % 2 == 0 else 'podman' for i in range(max(counts))]
    subprocess.run(['bash', str(REPO / 'scripts' / 'fleet.sh'), 'up'] + engines, check=True)
    tmp = Path(os.environ.get('TMPDIR', '/tmp')) / ('cutover-bench-fleet-%d' % os.getpid())
    tmp.mkdir(parents=True, exist_ok=True)
    labels = [('ansible', {})] + ([('mitogen', mitogen_env())] if args.mitogen else [])
    results, failures = [], []
    try:
        for label, env in labels:
            for n in counts:
                print('bench-fleet: %s, %d app host(s) ...' % (label, n), flush=True)
                try:
                    results.append(one_n(n, ['app%d' % (i + 1) for i in range(n)], args.boot_delay, args.rate, tmp, env, label))
                except SystemExit as exc:  # keep what was measured; say what failed
                    print(str(exc)[-3000:], flush=True)
                    failures.append('%s N=%d: %s' % (label, n, str(exc).splitlines()[0]))
    finally:
        if not args.keep_fleet:
            subprocess.run(['bash', str(REPO / 'scripts' / 'fleet.sh'), 'down'], check=False)
    summary = []
    for res in results:
        base = next((r for r in results if r['label'] == res['label'] and r['n'] == min(counts)), res)
        summary.append(dict(
            label=res['label'], n=res['n'], engines=engines[:res['n']],
            failed_keepalive=sum(r['failed_keepalive'] for r in res['runs'].values()),
            failed_newconn=sum(r['failed_newconn'] for r in res['runs'].values()),
            requests=res['totals']['keepalive']['requests'] + res['totals']['newconn']['requests'],
            wall_one_batch=res['runs']['one_batch']['wall'], wall_serial_1=res['runs']['serial_1']['wall'],
            overhead_one_batch=res['runs']['one_batch']['overhead'],
            overhead_per_host_serial_1=res['runs']['serial_1']['overhead_per_host'],
            ratio_one_batch_vs_1=round(res['runs']['one_batch']['wall'] / base['runs']['one_batch']['wall'], 2)))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    out = dict(when=stamp, boot_delay_s=args.boot_delay, rate_per_worker=args.rate, summary=summary, failures=failures,
               runs=[{k: v for k, v in r.items() if k != 'timeline'} for r in results])
    (RESULTS / ('fleet-%s.json' % stamp)).write_text(json.dumps(out, indent=2))
    plot(results, RESULTS / ('fleet-%s.png' % stamp))
    print(json.dumps(summary, indent=2))
    print('bench-fleet: results in bench/results/fleet-%s.json and .png' % stamp)
    if failures:
        raise SystemExit('bench-fleet: %d run(s) failed: %s' % (len(failures), '; '.join(failures)))


if __name__ == '__main__':
    main()
