"""A change measured directly (`make bench-ab BEFORE=<rev>`; results in bench/results/).

Machines drift from day to day (this 2-core one by 10-20 %), so a speed change is measured against the commit
before it in the same session: the collection at BEFORE (git archive into a temporary tree) and the installed one
(this checkout, `make collection`) each get their own service on the local Docker engine behind HAProxy, and
ROUNDS times, alternating which goes first, each deploys v2 (idle, the app booting in BOOT_DELAY seconds) and
rolls back to v1 while it still runs as the standby. Reports the medians of both walls and their differences.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import free_port  # noqa: E402
from bench.run import RESULTS, cleanup  # noqa: E402
from tests.helpers import COLLECTIONS, REPO, run_playbook  # noqa: E402


def export(rev, into):
    """The collection at git revision rev, as an ansible_collections tree under into; returns its playbooks dir."""
    tree = into / 'ansible_collections' / 'cutover' / 'deploy'
    tree.mkdir(parents=True)
    archive = subprocess.run(['git', 'archive', rev], cwd=str(REPO), check=True, capture_output=True).stdout
    with tempfile.TemporaryFile() as f:
        f.write(archive)
        f.seek(0)
        with tarfile.open(fileobj=f) as tar:
            tar.extractall(tree, filter='data')
    return tree / 'playbooks'


def site(name, tmp, boot_delay):
    return dict(cutover_service=name, cutover_container_port=8080, cutover_health=dict(path='/health', interval=0.2),
                cutover_state_dir=str(tmp / name / 'state'), cutover_standby=300, cutover_keep_releases=1,
                cutover_proxy=dict(type='haproxy', listen='127.0.0.1:%d' % free_port(), image='cutover-haproxy:local',
                                   config_dir=str(tmp / name / 'hp'), admin_socket=str(tmp / name / 'run' / 'admin.sock'),
                                   state_file=str(tmp / name / 'state' / 'hp')),
                cutover_stop_timeout=5, cutover_drain_timeout=10, cutover_public_env=dict(BOOT_DELAY=str(boot_delay)))


def timed(variant, playbook, extra_vars):
    started = time.monotonic()
    run = run_playbook(variant['playbooks'] / playbook, extra_vars, env=dict(ANSIBLE_COLLECTIONS_PATH=str(variant['path'])))
    if run.rc != 0:
        raise SystemExit('bench-ab: %s (%s) failed:\n%s' % (playbook, variant['name'], run.stdout[-3000:]))
    return round(time.monotonic() - started, 3)


def main():
    parser = argparse.ArgumentParser(description='Cutover: a change against the commit before it, in one session')
    parser.add_argument('--before', required=True, help='the git revision to compare the installed collection with')
    parser.add_argument('--rounds', type=int, default=6)
    parser.add_argument('--boot-delay', type=float, default=2)
    args = parser.parse_args()
    rev = subprocess.run(['git', 'rev-parse', '--short', args.before], cwd=str(REPO), check=True, capture_output=True,
                         text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix='cutover-ab-') as tmp_dir:
        tmp = Path(tmp_dir)
        variants = [dict(name='before', rev=rev, path=tmp / 'before', playbooks=export(rev, tmp / 'before')),
                    dict(name='after', rev='installed', path=COLLECTIONS, playbooks=REPO / 'playbooks')]
        for v in variants:
            v.update(site=site('benchab-' + v['name'], tmp, args.boot_delay), deploy=[], rollback=[])
        try:
            for v in variants:
                timed(v, 'deploy.yml', dict(v['site'], cutover_image='demoapp:v1'))
            for n in range(args.rounds):
                for v in variants if n % 2 == 0 else variants[::-1]:
                    env = dict(v['site']['cutover_public_env'], DEPLOY_N=str(n))
                    v['deploy'].append(timed(v, 'deploy.yml', dict(v['site'], cutover_image='demoapp:v2', cutover_public_env=env)))
                    v['rollback'].append(timed(v, 'rollback.yml', v['site']))
                    print('  %-6s %d/%d  deploy %5.2fs  rollback to the standby %5.2fs' % (
                        v['name'], n + 1, args.rounds, v['deploy'][-1], v['rollback'][-1]), flush=True)
        finally:
            for v in variants:
                cleanup(v['site'])
    summary = {v['name']: dict(rev=v['rev'], deploy=v['deploy'], rollback=v['rollback'],
                               deploy_p50=round(statistics.median(v['deploy']), 2),
                               rollback_p50=round(statistics.median(v['rollback']), 2)) for v in variants}
    for key in ('deploy_p50', 'rollback_p50'):
        before, after = summary['before'][key], summary['after'][key]
        print('%s: before (%s) %.2f s, after %.2f s, %+.2f s' % (key, rev, before, after, after - before))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ('ab-%s.json' % time.strftime('%Y%m%dT%H%M%SZ', time.gmtime()))
    out.write_text(json.dumps(dict(when=time.time(), boot_delay_s=args.boot_delay, rounds=args.rounds, **summary), indent=2))
    print('bench-ab: results in %s' % out.relative_to(REPO))


if __name__ == '__main__':
    main()
