"""Deploying from a git repository, end to end: playbooks/deploy.yml with cutover_source type git on a real
Docker Engine and Podman behind HAProxy, from a bare repository on disk whose Dockerfile builds on the
local demo image. Under bounded non-retrying load on loopback."""

from __future__ import annotations

import subprocess

from bench.loadgen import Load
from tests.helpers import TEST_RATE, run_module, run_playbook
from tests.proxies import get_body
from tests.sites import DEPLOY, ROLLBACK, assert_ok

BUILD = 'Build the image from git on every host of the batch before any host starts it'


def git(cwd, *args):
    return subprocess.run(['git', '-c', 'user.name=t', '-c', 'user.email=t@example.com'] + list(args), cwd=str(cwd),
                          check=True, capture_output=True, text=True).stdout.strip()


def commit_version(work, version, message):
    (work / 'app').mkdir(exist_ok=True)
    (work / 'app' / 'Dockerfile').write_text('ARG BASE\nFROM ${BASE}\nENV VERSION=%s\n' % version)
    git(work, 'add', '-A')
    git(work, 'commit', '-q', '-m', message)
    return git(work, 'rev-parse', 'HEAD')


def make_repository(tmp):
    """A bare repository: tag v1 (VERSION git1), main one commit later (git2), and a branch whose
    context is a symlink out of the clone."""
    work, bare = tmp / 'work', tmp / 'app.git'
    work.mkdir()
    git(work, 'init', '-q', '-b', 'main')
    first = commit_version(work, 'git1', 'first')
    git(work, 'tag', 'v1')
    second = commit_version(work, 'git2', 'second')
    git(work, 'checkout', '-q', '-b', 'escape')
    (work / 'outside').symlink_to('/etc')
    git(work, 'add', '-A')
    git(work, 'commit', '-q', '-m', 'a symlink out of the repository')
    git(work, 'checkout', '-q', 'main')
    git(tmp, 'clone', '-q', '--bare', str(work), str(bare))
    return bare, first, second


def service_images(site):
    return sorted(t for i in site.engine.client.images.list() for t in i.tags if site.service in t)


def test_deploy_from_git_builds_each_commit_once_and_refuses_escapes(site, tmp_path):
    s = site
    bare, first, second = make_repository(tmp_path)
    source = dict(type='git', repo=str(bare), context='app', build_args=dict(BASE=s.engine.image('v1')))
    first_run = s.deploy(None, cutover_source=dict(source, ref='v1'))
    assert_ok(first_run)
    assert get_body(s.port) == 'demoapp git1'
    entry = s.state()['history'][-1]
    assert entry['commit_sha'] == first and entry['image'].endswith('%s:%s' % (s.service, first[:12])), entry

    images = service_images(s)
    check = s.deploy(None, cutover_source=dict(source, ref='main'), playbook_args=('--check', '--diff'))
    assert_ok(check)
    assert check.task(BUILD)['result']['commit'] == second and 'build ' in check.stdout
    assert service_images(s) == images and len(s.state()['history']) == 1  # check mode built and recorded nothing

    with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=20000, max_seconds=60, rate=TEST_RATE) as load:
        load.wait_for(50)
        later = s.deploy(None, cutover_source=dict(source, ref='main'))
        load.wait_for(50)
    assert_ok(later)
    assert get_body(s.port) == 'demoapp git2' and s.state()['history'][-1]['commit_sha'] == second
    assert load.summary()['failed'] == 0, load.summary()

    again = s.deploy(None, cutover_source=dict(source, ref=second))  # the same commit, by id
    assert_ok(again)
    assert again.task(BUILD)['result']['built'] is False and again.task(BUILD)['result']['changed'] is False
    assert 'is already live' in again.stdout and len(s.state()['history']) == 2
    # retention (cutover_keep_images): the deploys kept both builds, new ones; past the grace period, with no
    # earlier release kept, the first build goes once no container uses it, by its own tag only
    prune = dict(service=s.service, state_dir=str(s.state_dir), engine_host=s.engine.host, keep_stopped=0,
                 keep_images=0, image_grace=0)
    built = service_images(s)
    assert len(built) == 2
    check = run_module('reap', prune, check=True)
    assert [t.endswith(':' + first[:12]) for t in check['pruned_images']] == [True] and service_images(s) == built
    pruned = run_module('reap', prune)
    assert pruned['pruned_images'] == check['pruned_images'] and pruned['changed'], pruned
    assert [t.rsplit(':', 1)[1] for t in service_images(s)] == [second[:12]]
    assert s.engine.client.images.get(s.engine.image('v1'))  # the base image is not ours to remove
    assert get_body(s.port) == 'demoapp git2' and not run_module('reap', prune)['changed']
    if s.engine.name != 'docker':
        return  # the refusals come before any engine call: checked once

    images = service_images(s)
    for bad, words in ((dict(context='../app'), ['cutover_source.context', '".." would leave the repository']),
                       (dict(dockerfile='/etc/passwd'), ['cutover_source.dockerfile', 'absolute path']),
                       (dict(ref='escape', context='outside'), ['source.context', 'resolves outside the repository'])):
        run = s.deploy(None, cutover_source=dict(source, **bad))
        assert run.rc != 0
        for word in words:
            assert word in run.stdout, (bad, run.stdout[-2000:])
    assert service_images(s) == images  # nothing was built
    assert get_body(s.port) == 'demoapp git2'

    # the service moves to another repository, which lacks the commit the first one's clone still holds
    other_work, other = tmp_path / 'other-work', tmp_path / 'other.git'
    other_work.mkdir()
    git(other_work, 'init', '-q', '-b', 'main')
    commit_version(other_work, 'other', 'an unrelated history')
    git(tmp_path, 'clone', '-q', '--bare', str(other_work), str(other))
    moved = s.deploy(None, cutover_source=dict(source, repo=str(other), ref=first))
    assert moved.rc != 0 and 'is not a branch, tag or commit of %s' % other in moved.stdout, moved.stdout[-2000:]
    # credentials in the URL are refused on the controller, and never shown, even at -vvv
    leaky = s.deploy(None, cutover_source=dict(source, repo='https://deploy:hunter2@127.0.0.1:9/app.git'),
                     playbook_args=('-vvv',))
    assert leaky.rc != 0 and 'has credentials in its URL' in leaky.stdout, leaky.stdout[-2000:]
    assert 'hunter2' not in leaky.stdout + leaky.stderr
    assert service_images(s) == images and s.state()['history'][-1]['commit_sha'] == second


def compose_down(site, project, files):
    tool = 'podman-compose' if site.engine.name == 'podman' else 'docker-compose'
    subprocess.run([tool, '-p', project] + [a for f in files for a in ('-f', str(f))] + ['down'], check=False,
                   capture_output=True, timeout=120)


def test_compose_project_is_recreated_with_its_window(site, tmp_path):
    """A two-service project (the app and a sidecar) with the engine's compose tool: the route goes to the
    app, each change recreates the project and reports its downtime window, an unchanged project is left
    alone. With Podman, blue-green is refused with the reason (podman-compose cannot add a container)."""
    s = site
    compose = tmp_path / 'compose.yml'
    compose.write_text('services:\n'
                       '  app:\n    image: demoapp:${APP_TAG}\n'
                       '  sidecar:\n    image: demoapp:${SIDECAR_TAG:-v3}\n    environment:\n      PORT: "9090"\n')
    source = dict(type='compose', files=[str(compose)], service='app')
    override = s.state_dir / 'compose' / ('%s.override.yml' % s.service)
    try:
        first = s.deploy(None, cutover_source=dict(source, env=dict(APP_TAG='v1')))
        assert_ok(first)
        assert get_body(s.port) == 'demoapp v1'
        names = first.task('Bring the compose project up')['result']['containers']
        assert len(names) == 2 and any('sidecar' in n for n in names), names
        assert s.running() == [s.state()['live']['container']]  # only the routed container is the service's

        check = s.deploy(None, cutover_source=dict(source, env=dict(APP_TAG='v2')), playbook_args=('--check',))
        assert_ok(check)
        assert get_body(s.port) == 'demoapp v1' and len(s.state()['history']) == 1  # check mode changed nothing

        # a variable exported where the play runs (so on the host of a local connection) changes nothing
        second = run_playbook(DEPLOY, dict(s.vars, cutover_source=dict(source, env=dict(APP_TAG='v2'))),
                              env=dict(SIDECAR_TAG='v1'))
        assert_ok(second)
        assert get_body(s.port) == 'demoapp v2'
        sidecar = next(n for n in second.task('Bring the compose project up')['result']['containers'] if 'sidecar' in n)
        assert s.engine.client.containers.get(sidecar).attrs['Config']['Image'].endswith('demoapp:v3')
        assert 'the service had no container ready for' in second.stdout, second.stdout[-2000:]
        history = s.state()['history']
        assert [(h['strategy'], h['outcome']) for h in history] == [('recreate', 'succeeded')] * 2, history

        again = s.deploy(None, cutover_source=dict(source, env=dict(APP_TAG='v2')))
        assert_ok(again)
        assert 'the project is already live, nothing to do' in again.stdout and len(s.state()['history']) == 2

        refused = s.deploy(None, cutover_source=dict(source, env=dict(APP_TAG='v1')), cutover_strategy='canary')
        assert refused.rc != 0
        assert 'strategy "canary" is not supported for source "compose"' in refused.stdout, refused.stdout[-2000:]
        if s.engine.name == 'podman':
            refused = s.deploy(None, cutover_source=dict(source, env=dict(APP_TAG='v1')), cutover_strategy='blue-green')
            assert refused.rc != 0 and 'needs docker-compose' in refused.stdout, refused.stdout[-2000:]
        assert get_body(s.port) == 'demoapp v2'

        # env that would configure the tool itself is refused on the controller; a missing file on the host
        refused = s.deploy(None, cutover_source=dict(source, env=dict(APP_TAG='v1', PYTHONPATH=str(tmp_path))))
        assert refused.rc != 0 and 'cutover_source.env.PYTHONPATH is refused' in refused.stdout, refused.stdout[-2000:]
        missing = s.deploy(None, cutover_source=dict(source, files=[str(tmp_path / 'gone.yml')], env=dict(APP_TAG='v1')))
        assert missing.rc != 0, missing.stdout[-2000:]
        assert 'the compose file %s does not exist on the host' % (tmp_path / 'gone.yml') in missing.stdout
        assert get_body(s.port) == 'demoapp v2' and len(s.state()['history']) == 2
    finally:
        compose_down(s, s.service, [compose, override])


def test_compose_blue_green_replaces_the_routed_service_beside_the_old_with_zero_failed(docker_site, tmp_path):
    """Blue-green of a compose project's routed service (Docker, docker-compose): a project deployed with
    recreate moves to blue-green under keep-alive load with 0 failed requests. The new container runs beside the
    old one on the project's network under the service's name, the sidecar is left as it was, the old container
    is removed after the swap. A release that fails its gate leaves the live one serving and no container
    behind; a rollback is refused (no image to return to); the watch keeps a good release; a routed service that
    cannot run twice is refused before anything changes."""
    s = docker_site
    compose = tmp_path / 'compose.yml'
    compose.write_text('services:\n'
                       '  app:\n    image: demoapp:${APP_TAG}\n'
                       '  sidecar:\n    image: demoapp:v3\n    environment:\n      PORT: "9090"\n')
    source = dict(type='compose', files=[str(compose)], service='app')
    override = s.state_dir / 'compose' / ('%s.override.yml' % s.service)

    def project(*args):
        return subprocess.run(['docker', 'ps', '-a', '--filter', 'label=com.docker.compose.project=%s' % s.service,
                               '--format', '{{.Names}} {{.ID}} {{.State}}'] + list(args),
                              capture_output=True, text=True, check=True).stdout.split('\n')

    def app_from_the_sidecar():
        sidecar = next(line.split()[0] for line in project() if '_sidecar_' in line)
        return subprocess.run(['docker', 'exec', sidecar, 'wget', '-qO-', 'http://app:8080/'],
                              capture_output=True, text=True, timeout=30, check=False).stdout.strip()

    try:
        assert_ok(s.deploy(None, cutover_source=dict(source, env=dict(APP_TAG='v1'))))  # recreate, the default
        v1 = s.state()['live']['container']
        sidecar = next(line for line in project() if '_sidecar_' in line)
        with Load('127.0.0.1', s.port, workers=2, keepalive=True, max_requests=20000, max_seconds=90, rate=TEST_RATE) as load:
            load.wait_for(50)
            moved = s.deploy(None, cutover_source=dict(source, env=dict(APP_TAG='v2')), cutover_strategy='blue-green')
            load.wait_for(50)
        assert_ok(moved)
        summary = load.summary()
        print('compose blue-green v1 -> v2: %s' % summary)
        assert summary['failed'] == 0, summary
        v2 = s.state()['live']
        assert v2['container'] != v1 and s.running() == [v2['container']]  # the old one is gone after the swap
        assert s.route() == v2['upstream'] and get_body(s.port) == 'demoapp v2'
        assert next(line for line in project() if '_sidecar_' in line) == sidecar  # untouched: same id, running
        assert app_from_the_sidecar() == 'demoapp v2'  # the service's name on the project network
        entry = s.state()['history'][-1]
        assert (entry['strategy'], entry['outcome'], entry['image']) == ('blue-green', 'succeeded', 'compose:%s' % s.service)
        assert 'compose project %s is live in %s' % (s.service, v2['container']) in moved.stdout, moved.stdout[-2000:]

        # a rollback has no image to return to: refused with the reason, v2 serves on
        back = run_playbook(ROLLBACK, s.vars)
        assert back.rc != 0 and 'is compose project %s\'s' % s.service in back.stdout, back.stdout[-2000:]
        assert get_body(s.port) == 'demoapp v2' and s.running() == [v2['container']]

        again = s.deploy(None, cutover_source=dict(source, env=dict(APP_TAG='v2')), cutover_strategy='blue-green')
        assert_ok(again)
        assert 'is already live' in again.stdout and len(s.state()['history']) == 2, again.stdout[-2000:]

        # a release that never passes its gate: v2 serves on, the new container is removed
        failed = s.deploy(None, cutover_source=dict(source, env=dict(APP_TAG='v3')), cutover_strategy='blue-green',
                          cutover_health=dict(path='/health', body_regex='never-there', interval=0.3), cutover_gate_timeout=3)
        assert failed.rc != 0, failed.stdout[-2000:]
        assert get_body(s.port) == 'demoapp v2' and s.running() == [v2['container']]
        assert s.state()['history'][-1]['outcome'] == 'failed'
        assert [line.split()[0] for line in project() if '_app_' in line and 'running' in line] == [v2['container']]
        assert not any('_app_' in line and 'created' in line for line in project())  # no half-made container either

        # the watch after the swap works as for an image: it counts the new container's requests, and keeps it
        watched = s.deploy(None, cutover_source=dict(source, env=dict(APP_TAG='v1')), cutover_strategy='blue-green',
                           cutover_watch=dict(seconds=2, min_requests=0))
        assert_ok(watched)
        verdict = watched.task('Watch green under real traffic, with the old release still running to swap back to')['result']
        assert verdict['passed'] and verdict['watch']['errors'] == 0, verdict
        live = s.state()['live']['container']
        assert get_body(s.port) == 'demoapp v1' and s.running() == [live] and live != v2['container']

        # a routed service with a fixed name cannot run twice: refused on the host, nothing changed
        compose.write_text(compose.read_text().replace('  app:\n', '  app:\n    container_name: %s-app\n' % s.service))
        refused = s.deploy(None, cutover_source=dict(source, env=dict(APP_TAG='v3')), cutover_strategy='blue-green')
        assert refused.rc != 0 and 'container_name %s-app' % s.service in refused.stdout, refused.stdout[-2000:]
        assert get_body(s.port) == 'demoapp v1' and s.running() == [live]
    finally:
        compose_down(s, s.service, [compose, override])
