"""Rollback wall time with and without a standby (`make bench-rollback`; results in bench/results/).

On the local Docker engine behind HAProxy, for each mode (cutover_standby 0, then 300 s): deploy v1,
then ROUNDS times: deploy v2, roll back to v1 under a bounded keep-alive load, and record the
rollback's wall time, its steps, whether it had to start a container, and the requests that failed.
The app takes BOOT_DELAY seconds to boot, as in `make bench`. Counts and ratios, measured in one run.
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
from bench.run import RESULTS, cleanup, one_deploy  # noqa: E402
from tests.helpers import REPO, host_module_runs, run_playbook  # noqa: E402

ROLLBACK_STEPS = {'green': 'Start green beside the live container', 'gate': 'Gate the new container on health',
                  'swap': 'Swap the route to green', 'persist_reap': 'Persist green as live, then remove the old containers'}


def one_rollback(site_vars, load):
    t0 = time.monotonic()
    run = run_playbook(REPO / 'playbooks' / 'rollback.yml', site_vars)
    wall = time.monotonic() - t0
    if run.rc != 0:
        raise SystemExit('bench: rollback failed:\n%s' % run.stdout[-3000:])
    green = run.task(ROLLBACK_STEPS['green'])['result']
    # a step that did not run (the gate, for a running standby) is left out
    steps = {key: r['duration'] for key, name in ROLLBACK_STEPS.items() for r in run.results
             if r['status'] in ('ok', 'failed') and r['task'].split(' : ')[-1] == name}
    t0, t1 = t0 - load.t0, time.monotonic() - load.t0
    failed = sum(1 for e in load.events if t0 <= e[0] <= t1 and e[1] is None)
    return dict(wall=round(wall, 3), started_a_container=bool(green.get('changed')), steps=steps, failed=failed,
                module_runs=host_module_runs(run))


def run_mode(standby, rounds, boot_delay, tmp, rate):
    port = free_port()
    name = 'benchrb-standby%d' % standby
    site_vars = dict(cutover_service=name, cutover_container_port=8080, cutover_health=dict(path='/health', interval=0.2),
                     cutover_state_dir=str(tmp / name / 'state'), cutover_standby=standby,
                     cutover_proxy=dict(type='haproxy', listen='127.0.0.1:%d' % port, image='cutover-haproxy:local', config_dir=str(tmp / name / 'hp'),
                                        admin_socket=str(tmp / name / 'run' / 'admin.sock'),
                                        state_file=str(tmp / name / 'state' / 'hp')),
                     cutover_stop_timeout=5, cutover_drain_timeout=10, cutover_keep_releases=1,
                     cutover_public_env=dict(BOOT_DELAY=str(boot_delay)))
    rollbacks = []
    try:
        one_deploy(site_vars, 'demoapp:v1', 0, 'blue-green')
        with Load('127.0.0.1', port, workers=2, keepalive=True, max_requests=2000000, max_seconds=1800, rate=rate) as load:
            for n in range(1, rounds + 1):
                deployed = one_deploy(site_vars, 'demoapp:v2', n, 'blue-green', boot_delay)
                r = dict(one_rollback(site_vars, load), deploy_wall=deployed['wall'])
                rollbacks.append(r)
                print('  standby %3ds  %d/%d  rollback wall %5.1fs (deploy %4.1fs)  module runs %d  started a container: %-5s  '
                      'failed %d' % (standby, n, rounds, r['wall'], r['deploy_wall'], r['module_runs'], r['started_a_container'],
                                     r['failed']), flush=True)
            totals = load.summary()
    finally:
        cleanup(site_vars)
    walls = [r['wall'] for r in rollbacks]
    deploy_p50 = statistics.median(r['deploy_wall'] for r in rollbacks)
    return dict(standby=standby, rollbacks=rollbacks, wall_p50=round(statistics.median(walls), 2), wall_max=max(walls),
                deploy_wall_p50=round(deploy_p50, 2), rollback_to_deploy=round(statistics.median(walls) / deploy_p50, 2),
                failed=sum(r['failed'] for r in rollbacks), requests=totals['requests'])


def main():
    parser = argparse.ArgumentParser(description='Cutover rollback benchmark: with and without cutover_standby')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--boot-delay', type=float, default=2)
    parser.add_argument('--rate', type=float, default=100, help='requests/s per worker (2 workers)')
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='cutover-bench-rollback-'))
    try:
        modes = [run_mode(standby, args.rounds, args.boot_delay, tmp, args.rate) for standby in (0, 300)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    out = dict(when=stamp, rounds=args.rounds, boot_delay_s=args.boot_delay, rate_per_worker=args.rate, modes=modes)
    (RESULTS / ('rollback-%s.json' % stamp)).write_text(json.dumps(out, indent=2))
    for m in modes:
        print('standby %3ds: rollback wall p50 %.2f s, max %.2f s (%.2fx the deploy, p50 %.2f s); %d failed of %d requests'
              % (m['standby'], m['wall_p50'], m['wall_max'], m['rollback_to_deploy'], m['deploy_wall_p50'], m['failed'],
                 m['requests']))
    print('bench: results in bench/results/rollback-%s.json' % stamp)


if __name__ == '__main__':
    main()
