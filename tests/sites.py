"""One service's deploy variables with its own HAProxy, state folder and listen port (shared by the
end-to-end tests)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import HAProxy
from tests.helpers import REPO, run_playbook
from tests.proxies import free_port, get_body

DEPLOY = REPO / 'playbooks' / 'deploy.yml'
ROLLBACK = REPO / 'playbooks' / 'rollback.yml'
STATUS = REPO / 'playbooks' / 'status.yml'


class Site:
    """One service's deploy variables, with its own HAProxy, state folder and listen port."""

    def __init__(self, engine, service, tmp):
        self.engine = engine
        self.service = service
        self.port = free_port()
        self.state_dir = tmp / 'state'
        self.proxy = dict(type='haproxy', listen='127.0.0.1:%d' % self.port, config_dir=str(tmp / 'haproxy'),
                          admin_socket=str(tmp / 'run' / 'admin.sock'), state_file=str(tmp / 'state' / 'hp-state'),
                          image=engine.proxy_image)  # the default runtime here (no systemd): a container
        self.vars = dict(cutover_service=service, cutover_container_port=8080, cutover_health=dict(path='/health', interval=0.3),
                         cutover_state_dir=str(self.state_dir), cutover_proxy=self.proxy,
                         cutover_engine=dict(type=engine.name), cutover_stop_timeout=2, cutover_drain_timeout=5)

    def deploy(self, tag, playbook=DEPLOY, playbook_args=(), env=None, **extra):
        v = dict(self.vars, cutover_image=self.engine.image(tag)) if tag else dict(self.vars)  # None: cutover_source
        v.update(extra)
        return run_playbook(playbook, v, args=playbook_args, env=env)

    def state(self):
        path = self.state_dir / ('%s.json' % self.service)
        return json.loads(path.read_text()) if path.exists() else {}

    def route(self):
        return HAProxy(self.proxy['admin_socket']).read(self.service)

    def running(self, settle=True):
        """The service's running containers; with settle, once those being retired (their graceful stop
        runs in the background after a deploy) have stopped, up to their deadline."""
        if settle:
            self.wait_retired()
        return sorted(c.name for c in self.engine.containers(self.service) if c.status == 'running')

    def wait_retired(self):
        """Wait (up to the entries' deadline) until the containers being retired have stopped, and
        those to be removed are gone."""
        entries = self.state().get('retiring') or []
        end = max([e['deadline'] for e in entries] or [0]) + 1
        stopping = {e['container'] for e in entries}
        removing = {e['container'] for e in entries if e.get('remove')}
        while time.time() < end:
            present = self.engine.containers(self.service)
            if not any(c.name in removing or (c.name in stopping and c.status == 'running') for c in present):
                return
            time.sleep(0.1)

    def containers(self, settle=True):
        """The service's containers (any status); with settle, once the retiring ones are done."""
        if settle:
            self.wait_retired()
        return self.engine.containers(self.service)

    def stop_proxy(self):
        self.engine.remove_proxy(self.proxy['config_dir'])
        pid_file = Path(self.proxy['admin_socket']).parent / 'haproxy.pid'  # a host process (runtime host)
        if pid_file.exists():
            for pid in pid_file.read_text().split():
                try:
                    os.kill(int(pid), signal.SIGTERM)
                except ProcessLookupError:
                    pass


def assert_ok(run):
    assert run.rc == 0, (run.stdout[-4000:], run.stderr[-2000:])


def assert_status_converges(site, step):
    """After a run killed at `step`: status succeeds and leaves the route on a running container the
    state names, serving, with no release left running."""
    assert_ok(run_playbook(STATUS, site.vars))
    state = site.state()
    live = state['live']
    assert live['container'] in site.running(), (step, live, site.running())
    assert site.route() == live['upstream'], step
    assert get_body(site.port) in ('demoapp v1', 'demoapp v2', 'demoapp v3')
    assert all(h['outcome'] not in ('running', 'pending') for h in state['history']), state['history']
