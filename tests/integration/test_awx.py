"""Jobs the way AWX/Automation Controller runs them: through ansible-runner (ansible_runner.run with a
private data dir, an inventory and extra vars), with survey answers as strings and AWX's own extra
vars (awx_user_name, awx_job_id, awx_job_template_name), checked through the job's events.

AWX itself is not run here (it needs Kubernetes or its own container stack); ansible-runner is the
part of AWX that starts ansible-playbook and turns its output into the job events AWX stores.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import REPO, runner_job as job
from tests.proxies import get_body
from tests.sites import Site

# the job templates' playbooks, as an AWX project holds them (docs/awx/project/)
PROJECT = REPO / 'docs' / 'awx' / 'project'
DEPLOY, ROLLBACK, STATUS = PROJECT / 'deploy.yml', PROJECT / 'rollback.yml', PROJECT / 'status.yml'

AWX_VARS = dict(awx_user_name='alice', awx_job_id=4711, awx_job_template_name='web deploy')


def survey(site, tag, **answers):
    """The job's extra vars: the template's variables, AWX's own, and survey answers as AWX sends
    text answers (strings)."""
    extra = dict(site.vars, cutover_image=site.engine.image(tag), **AWX_VARS)
    extra.update(cutover_container_port='8080', cutover_stop_timeout='2', cutover_drain_timeout='5',
                 cutover_keep_releases='1', cutover_exclusive_volumes='false')
    extra.update(answers)
    return extra


def stdout(runner):
    return runner.stdout.read()


def test_deploy_status_and_rollback_jobs(docker_site, tmp_path):
    site = docker_site
    r = job(tmp_path, DEPLOY, survey(site, 'v1'), 'deploy1')
    assert r.status == 'successful', stdout(r)
    r = job(tmp_path, DEPLOY, survey(site, 'v2', awx_job_id=4712), 'deploy2')
    events = list(r.events)
    assert r.status == 'successful', stdout(r)
    assert get_body(site.port) == 'demoapp v2'
    newest = site.state()['history'][-1]
    assert (newest['initiator'], newest['rollout'], newest['outcome']) == ('alice', 'awx-job-4712', 'succeeded')
    # set_stats for workflows: one entry per host, AWX reads it from the stats event's artifact_data
    stats = [e for e in events if e['event'] == 'playbook_on_stats'][0]['event_data']['artifact_data']
    assert stats['cutover_rollout_id'] == 'awx-job-4712'
    assert stats['cutover_results']['localhost']['status'] == 'moved'
    assert stats['cutover_results']['localhost']['image'] == site.engine.image('v2')

    r = job(tmp_path, STATUS, dict(site.vars, **AWX_VARS), 'status')
    assert r.status == 'successful'
    assert 'alice' in stdout(r)  # the history names who deployed
    r = job(tmp_path, ROLLBACK, dict(site.vars, awx_job_id=4713, awx_user_name='bob'), 'rollback')
    assert r.status == 'successful', stdout(r)
    assert get_body(site.port) == 'demoapp v1'
    newest = site.state()['history'][-1]
    assert (newest['kind'], newest['initiator'], newest['outcome']) == ('rollback', 'bob', 'succeeded')


def test_failed_gate_is_a_failed_job_naming_the_reason(docker_site, tmp_path):
    site = docker_site
    r = job(tmp_path, DEPLOY, survey(site, 'v1'), 'deploy1')
    assert r.status == 'successful', stdout(r)
    failing = survey(site, 'v2', cutover_health=dict(path='/no-such-page', interval=0.2), cutover_gate_timeout='3')
    r = job(tmp_path, DEPLOY, failing, 'deploy2')
    events = list(r.events)
    assert r.status == 'failed'
    failed = [e['event_data'] for e in events if e['event'] == 'runner_on_failed']
    gate = [f for f in failed if f['task'].endswith('Gate the new container on health') or 'health' in f['res'].get('msg', '')]
    assert gate, [f['task'] for f in failed]
    assert '/no-such-page' in gate[0]['res']['msg'] or '404' in gate[0]['res']['msg']
    assert get_body(site.port) == 'demoapp v1'
    stats = [e for e in events if e['event'] == 'playbook_on_stats'][0]['event_data']['artifact_data']
    assert stats['cutover_results']['localhost']['status'] == 'failed'


def test_cancelled_job_leaves_the_old_release_serving_and_the_lock_free(docker_site, tmp_path):
    """AWX's cancel is ansible-runner's: it SIGKILLs the job's process group, so nothing of the job
    can clean up. The lock names the ansible-playbook process it lives in and is stale the moment
    that process is gone; the next job (lock_wait 0) takes it at once and converges the leftovers."""
    site = docker_site
    r = job(tmp_path, DEPLOY, survey(site, 'v1'), 'deploy1')
    assert r.status == 'successful', stdout(r)
    blue = site.running()

    def gate_waiting():  # cancel while the gate waits on a green that never turns healthy
        history = site.state().get('history') or []
        return len(site.running()) == 2 and any(h['outcome'] == 'running' for h in history)

    waiting = survey(site, 'v2', cutover_health=dict(path='/no-such-page', interval=0.2), cutover_gate_timeout='60')
    r = job(tmp_path, DEPLOY, waiting, 'cancelled', cancel_callback=gate_waiting)
    assert r.status == 'canceled'
    assert get_body(site.port) == 'demoapp v1'
    assert site.state()['live']['container'] in blue

    r = job(tmp_path, STATUS, dict(site.vars, **AWX_VARS), 'status')
    assert r.status == 'successful', stdout(r)
    assert 'is gone' in stdout(r) or 'stale' in stdout(r), stdout(r)[-3000:]
    assert site.running() == blue  # the cancelled job's green removed
    assert not (site.state_dir / ('%s.lock' % site.service)).exists()
    history = site.state()['history']
    assert [h['outcome'] for h in history] == ['succeeded', 'cancelled']  # the status run closed it
    # the metrics file counts it (issue 10: succeeded, failed and cancelled in one file)
    from prometheus_client.parser import text_string_to_metric_families
    text = (site.state_dir / 'metrics' / 'cutover.prom').read_text()
    totals = {s.labels['outcome']: s.value for f in text_string_to_metric_families(text) for s in f.samples
              if s.name == 'cutover_releases_total' and s.labels['service'] == site.service}
    assert totals == {'succeeded': 1, 'cancelled': 1}
    r = job(tmp_path, DEPLOY, survey(site, 'v2'), 'deploy2')
    assert r.status == 'successful', stdout(r)
    assert get_body(site.port) == 'demoapp v2'


@pytest.mark.parametrize('how', ['module_defaults', 'environment'])
def test_a_job_template_points_every_module_at_podman(how, podman_engine, docker_engine, service, tmp_path):
    """A job template's playbook sets the engine once for every Cutover module: with module_defaults for
    the action group, or CUTOVER_ENGINE_HOST in the play's environment. The roles pass no engine_host
    of their own (cutover_engine unset)."""
    site = Site(podman_engine, service, tmp_path)
    try:
        play = dict(name='Deploy through the podman socket', hosts='all', gather_facts=False,
                    roles=['cutover.deploy.deploy'])
        if how == 'module_defaults':
            play['module_defaults'] = {'group/cutover.deploy.engine': {'engine_host': podman_engine.host}}
        else:
            play['environment'] = {'CUTOVER_ENGINE_HOST': podman_engine.host}
        playbook = tmp_path / 'site.yml'
        playbook.write_text(json.dumps([play]))
        extra = dict(site.vars, cutover_image=podman_engine.image('v1'), **AWX_VARS)
        del extra['cutover_engine']
        r = job(tmp_path, playbook, extra, 'deploy')
        assert r.status == 'successful', stdout(r)
        assert get_body(site.port) == 'demoapp v1'
        assert len(podman_engine.containers(service)) == 1
        assert docker_engine.containers(service) == []
    finally:
        site.stop_proxy()
