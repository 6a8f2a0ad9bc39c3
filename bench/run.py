"""Cutover's zero-downtime benchmark (`make bench`; results in bench/results/).

On one host (the local Docker engine, HAProxy started by the proxy role): deploy v1, a few idle deploys,
then N consecutive deploys under a constant bounded load through the proxy, from two non-retrying clients
at once (keep-alive and new-connection); blue-green, recreate, and side by side community.docker's
docker_container redeploy of the same app (no proxy: the load goes to its published port), each for an app
that honours SIGTERM and one that ignores it. Per deploy it also counts Cutover's module runs on the host. Every deploy is a new
release (a DEPLOY_N variable changes), and the app takes BOOT_DELAY seconds to boot.

Per deploy it records: failed requests per client, p50/p99/max latency during the deploy vs idle,
the swap time (proxy call to matching read-back), and the wall time split by step; Cutover's own
overhead is the wall time minus the app's boot (BOOT_DELAY, which contains the gate's wait: the
gate only waits for what is left of the boot) and the drain.
Writes bench/results/bench-<time>.json and .png (requests per 100 ms by answering version,
failures marked), and prints a summary. Counts and ratios, measured in one run: not a timed test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import Load, free_port  # noqa: E402
from bench.plotting import pyplot  # noqa: E402
from tests.helpers import COLLECTIONS, REPO, host_module_runs, run_playbook  # noqa: E402

RESULTS = REPO / 'bench' / 'results'
# community.docker, from the `ansible` package on PyPI (make bench installs it here): the side-by-side
PLAIN_COLLECTIONS = REPO / '.cache' / 'ansible-pkg'
STEP_TASKS = {
    'green': 'Start green beside the live container', 'gate': 'Gate the new container on health', 'swap': 'Swap the route to green',
    'persist_reap': 'Persist green as live, then remove the old containers',
    'r_stop': 'Stop the old containers', 'r_start': 'Start the new container', 'r_gate': 'Gate the new container on health',
    'r_route': 'Point the route at the new container', 'r_persist': 'Persist the new container as live, then remove the old containers',
}


def plain_playbook(tmp, port):
    """The hand-rolled redeploy Cutover replaces: community.docker's docker_container recreating the app's one
    container on a fixed published port (stop, remove, create, start), with no gate and no proxy."""
    play = [dict(hosts='localhost', gather_facts=False, tasks=[{
        'name': 'Redeploy the app (community.docker.docker_container)',
        'community.docker.docker_container': {
            'name': 'bench-plain', 'image': '{{ image }}', 'state': 'started', 'restart_policy': 'unless-stopped',
            'published_ports': ['127.0.0.1:%d:8080' % port], 'env': '{{ env }}', 'stop_timeout': '{{ stop_timeout }}',
            'comparisons': {'env': 'strict'}}}])]
    path = tmp / 'plain.yml'
    path.write_text(json.dumps(play))
    return path


def pct(values, q):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 2) if values else None


def window(load, t0, t1):
    """Requests completed by one client between t0 and t1 (seconds since its start)."""
    ev = [e for e in load.events if t0 <= e[0] <= t1]
    lat = [e[2] for e in ev]
    return dict(requests=len(ev), failed=sum(1 for e in ev if e[1] is None), p50_ms=pct(lat, 0.5),
                p99_ms=pct(lat, 0.99), max_ms=round(max(lat) * 1000, 2) if lat else None)


def one_deploy(site_vars, image, n, strategy, boot_delay=0.0):
    if strategy == 'docker_container':
        return one_plain_deploy(site_vars, image, n)
    v = dict(site_vars, cutover_image=image, cutover_strategy=strategy)
    v['cutover_public_env'] = dict(v['cutover_public_env'], DEPLOY_N=str(n))
    started = time.monotonic()
    run = run_playbook(REPO / 'playbooks' / 'deploy.yml', v)
    wall = time.monotonic() - started
    if run.rc != 0:
        raise SystemExit('bench: deploy %d (%s) failed:\n%s' % (n, strategy, run.stdout[-3000:]))
    steps = {}
    for key, name in STEP_TASKS.items():
        try:
            steps[key] = run.task(name)['duration']
        except AssertionError:
            pass
    gate = run.task('Gate the new container on health')['result']
    swap = run.task('Swap the route to green' if strategy == 'blue-green' else 'Point the route at the new container')['result']
    drain = swap.get('drain_seconds') or 0
    return dict(wall=round(wall, 3), steps=steps, gate_wait=gate['elapsed'], drain=drain, module_runs=host_module_runs(run),
                swap_ms=round((swap.get('swap_seconds') or 0) * 1000, 2),
                # the gate waits only for the part of the boot that Cutover's own steps did not already cover
                overhead=round(wall - max(boot_delay, gate['elapsed']) - drain, 3))


def one_plain_deploy(site_vars, image, n):
    env = dict(site_vars['cutover_public_env'], DEPLOY_N=str(n))
    started = time.monotonic()
    run = run_playbook(site_vars['plain_playbook'], dict(image=image, env=env, stop_timeout=site_vars['cutover_stop_timeout']),
                       env=dict(ANSIBLE_COLLECTIONS_PATH='%s:%s' % (COLLECTIONS, PLAIN_COLLECTIONS)))
    wall = time.monotonic() - started
    if run.rc != 0:
        raise SystemExit('bench: docker_container redeploy %d failed:\n%s' % (n, (run.stdout + run.stderr)[-3000:]))
    return dict(wall=round(wall, 3), steps={}, gate_wait=0, drain=0, swap_ms=0, overhead=None, module_runs=host_module_runs(run))


def run_strategy(strategy, count, boot_delay, tmp, rate, ignore_term=False, idle=0):
    port = free_port()
    label = '%s%s' % (strategy.replace('-', '').replace('_', ''), '-ignoreterm' if ignore_term else '')
    tmp = tmp / label
    site_vars = dict(cutover_service='bench-%s' % label, cutover_container_port=8080,
                     cutover_health=dict(path='/health', interval=0.2), cutover_state_dir=str(tmp / strategy / 'state'),
                     cutover_proxy=dict(type='haproxy', listen='127.0.0.1:%d' % port, image='cutover-haproxy:local', config_dir=str(tmp / strategy / 'hp'),
                                        admin_socket=str(tmp / strategy / 'run' / 'admin.sock'),
                                        state_file=str(tmp / strategy / 'state' / 'hp')),
                     cutover_stop_timeout=10, cutover_drain_timeout=10, cutover_keep_releases=1,
                     cutover_public_env=dict(BOOT_DELAY=str(boot_delay), IGNORE_TERM='1' if ignore_term else '0'))
    if strategy == 'docker_container':
        tmp.mkdir(parents=True, exist_ok=True)
        site_vars['plain_playbook'] = plain_playbook(tmp, port)
    one_deploy(site_vars, 'demoapp:v1', 0, strategy)
    # idle deploys first (no load): Cutover's own overhead with nothing else on the machine
    idle_deploys = [one_deploy(site_vars, 'demoapp:v%d' % (1 + n % 2), 100 + n, strategy, boot_delay) for n in range(1, idle + 1)]
    deploys = []
    with Load('127.0.0.1', port, workers=2, keepalive=True, max_requests=2000000, max_seconds=1800, rate=rate) as keep, \
            Load('127.0.0.1', port, workers=2, keepalive=False, max_requests=2000000, max_seconds=1800, rate=rate) as fresh:
        time.sleep(5)  # the idle window
        idle_end = time.monotonic() - keep.t0
        for n in range(1, count + 1):
            t0 = time.monotonic() - keep.t0
            d = one_deploy(site_vars, 'demoapp:v%d' % (1 + n % 2), n, strategy, boot_delay)
            t1 = time.monotonic() - keep.t0
            d.update(n=n, start=round(t0, 3), end=round(t1, 3),
                     keepalive=window(keep, t0, t1), newconn=window(fresh, t0 - (fresh.t0 - keep.t0), t1 - (fresh.t0 - keep.t0)))
            deploys.append(d)
            print('  %-28s %2d/%d  wall %5.1fs  overhead %4ss  module runs %2d  failed keep-alive %d, new-conn %d'
                  % (label, n, count, d['wall'], d['overhead'], d['module_runs'], d['keepalive']['failed'], d['newconn']['failed']),
                  flush=True)
    idle = dict(keepalive=window(keep, 0, idle_end), newconn=window(fresh, 0, idle_end))
    cleanup(site_vars)
    return dict(strategy=strategy, label=label, ignore_term=ignore_term, deploys=deploys, idle_deploys=idle_deploys, idle=idle,
                events=dict(keepalive=keep.events, newconn=fresh.events),
                totals=dict(keepalive=keep.summary(), newconn=fresh.summary()))


def cleanup(site_vars):
    import docker  # pylint: disable=import-outside-toplevel
    import os  # pylint: disable=import-outside-toplevel
    import signal  # pylint: disable=import-outside-toplevel
    client = docker.from_env()
    found = client.containers.list(all=True, filters={'label': 'io.cutover.service=%s' % site_vars['cutover_service']})
    if 'plain_playbook' in site_vars:
        found += client.containers.list(all=True, filters={'name': 'bench-plain'})
    # the site's HAProxy, when it ran as a container (proxy.runtime auto on a host without systemd)
    found += client.containers.list(all=True, filters={'label': 'io.cutover.config=%s' % site_vars['cutover_proxy']['config_dir']})
    for c in found:
        try:
            c.remove(force=True)
        except docker.errors.APIError:  # gone already, or its removal in progress (a retired container's)
            pass
    pid_file = Path(site_vars['cutover_proxy']['admin_socket']).parent / 'haproxy.pid'
    for pid in pid_file.read_text().split() if pid_file.exists() else []:
        try:
            os.kill(int(pid), signal.SIGTERM)
        except ProcessLookupError:
            pass


def median_of(deploys, key):
    values = [x[key] for x in deploys if x.get(key) is not None]
    return round(statistics.median(values), 3) if values else None


def summarize(res):
    d = res['deploys']
    return dict(
        strategy=res['strategy'], label=res['label'], ignore_term=res['ignore_term'], deploys=len(d),
        module_runs=median_of(d, 'module_runs'), idle_deploys=len(res['idle_deploys']),
        idle_wall_s_p50=median_of(res['idle_deploys'], 'wall'), idle_overhead_s_p50=median_of(res['idle_deploys'], 'overhead'),
        failed_keepalive=sum(x['keepalive']['failed'] for x in d), failed_newconn=sum(x['newconn']['failed'] for x in d),
        requests_keepalive=sum(x['keepalive']['requests'] for x in d), requests_newconn=sum(x['newconn']['requests'] for x in d),
        swap_ms_p50=statistics.median(x['swap_ms'] for x in d), swap_ms_max=max(x['swap_ms'] for x in d),
        wall_s_p50=median_of(d, 'wall'), overhead_s_p50=median_of(d, 'overhead'),
        overhead_s_max=max((x['overhead'] for x in d if x['overhead'] is not None), default=None),
        gate_wait_s_p50=median_of(d, 'gate_wait'),
        latency_idle_keepalive=res['idle']['keepalive'],
        latency_deploy_keepalive_p99_ms_max=max(x['keepalive']['p99_ms'] or 0 for x in d),
        latency_deploy_keepalive_max_ms=max(x['keepalive']['max_ms'] or 0 for x in d),
        steps_s_p50={k: round(statistics.median(x['steps'][k] for x in d if k in x['steps']), 3)
                     for k in STEP_TASKS if any(k in x['steps'] for x in d)},
    )


def ratios(summary):
    """The side-by-side figures: Cutover's blue-green wall against the docker_container redeploy of the same
    app under the same load, per app."""
    lines = []
    for app in (False, True):
        rows = {r['strategy']: r for r in summary if r['ignore_term'] == app}
        if 'blue-green' in rows and 'docker_container' in rows and rows['docker_container']['wall_s_p50']:
            bg, plain = rows['blue-green'], rows['docker_container']
            lines.append('app %s SIGTERM: blue-green wall p50 %.1f s / docker_container %.1f s = %.2fx; failed requests %d+%d vs %d+%d; '
                         'module runs %s; idle overhead p50 %s s'
                         % ('ignores' if app else 'honours', bg['wall_s_p50'], plain['wall_s_p50'],
                            bg['wall_s_p50'] / plain['wall_s_p50'], bg['failed_keepalive'], bg['failed_newconn'],
                            plain['failed_keepalive'], plain['failed_newconn'], bg['module_runs'], bg['idle_overhead_s_p50']))
    return lines


def plot(results, path):
    plt = pyplot('bench')
    if plt is None:
        return
    fig, axes = plt.subplots(len(results), 1, figsize=(14, 4 * len(results)), squeeze=False)
    colors = {'v1': '#1f77b4', 'v2': '#2ca02c'}
    for ax, res in zip(axes[:, 0], results):
        events = res['events']['keepalive'] + res['events']['newconn']
        end = max(e[0] for e in events)
        bins = int(end * 10) + 1
        for version, color in colors.items():
            counts = [0] * bins
            for e in events:
                if e[1] == version:
                    counts[int(e[0] * 10)] += 1
            ax.bar([i / 10 for i in range(bins)], counts, width=0.1, color=color, label='answered by %s' % version, linewidth=0)
        fails = [e[0] for e in events if e[1] is None]
        if fails:
            ax.scatter(fails, [0] * len(fails), color='red', marker='x', s=60, zorder=5, label='failed (%d)' % len(fails))
        for d in res['deploys']:
            ax.axvspan(d['start'], d['end'], color='grey', alpha=0.08)
        ax.set_title('%s: %d deploys under load (grey = a deploy running), requests per 100 ms'
                     % (res['label'], len(res['deploys'])))
        ax.set_xlabel('seconds')
        ax.legend(loc='upper right')
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main():
    parser = argparse.ArgumentParser(description='Cutover zero-downtime benchmark')
    parser.add_argument('--deploys', type=int, default=20)
    parser.add_argument('--boot-delay', type=float, default=2)
    parser.add_argument('--strategies', default='blue-green,recreate,docker_container',
                        help='docker_container: the plain community.docker redeploy, side by side')
    parser.add_argument('--apps', default='honours-term,ignores-term',
                        help='the app honours SIGTERM, or ignores it (as many apps run as PID 1 do)')
    parser.add_argument('--idle-deploys', type=int, default=3, help='deploys with no load first (the idle overhead)')
    parser.add_argument('--rate', type=float, default=100, help='requests/s per worker (2 workers per client)')
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='cutover-bench-'))
    results = []
    try:
        for app in args.apps.split(','):
            for strategy in args.strategies.split(','):
                print('bench: %d %s deploys under load, app %s ...' % (args.deploys, strategy, app), flush=True)
                results.append(run_strategy(strategy, args.deploys, args.boot_delay, tmp, args.rate,
                                            ignore_term=app == 'ignores-term', idle=args.idle_deploys))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    summary = [summarize(r) for r in results]
    out = dict(when=stamp, deploys_per_strategy=args.deploys, boot_delay_s=args.boot_delay, rate_per_worker=args.rate,
               summary=summary,
               runs=[{k: v for k, v in r.items() if k != 'events'} for r in results])
    (RESULTS / ('bench-%s.json' % stamp)).write_text(json.dumps(out, indent=2))
    plot(results, RESULTS / ('bench-%s.png' % stamp))
    print(json.dumps(summary, indent=2))
    for line in ratios(summary):
        print('bench: ' + line)
    print('bench: results in bench/results/bench-%s.json and .png' % stamp)


if __name__ == '__main__':
    main()
