"""Shared fixtures: the collection on sys.path for unit tests, real engines for integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Unit tests import module_utils from this tree as ansible_collections.cutover.deploy.
_TREE = REPO / '.cache' / 'tree'
_LINK = _TREE / 'ansible_collections' / 'cutover' / 'deploy'
if not _LINK.exists():
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(REPO, _LINK)
    except FileExistsError:
        pass  # another pytest worker made it meanwhile
sys.path.insert(0, str(_TREE))

from tests.helpers import ENGINES, proxy_container_name  # noqa: E402

_ready = {}


# The slowest integration files first (about 660, 540, 190, 450, 170, 150, 130 and 110 s alone), in the
# order make test's two workers (xdist --dist loadfile, each prefetching two files) should start them: a
# long file picked up last would run alone at the end while the other worker idles.
SLOW_FILES_FIRST = ('test_hardening.py', 'test_deploy.py', 'test_sources.py', 'test_fleet.py', 'test_modules.py',
                    'test_inventory.py', 'test_proxies.py', 'test_awx.py')


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
    def rank(item):
        name = item.path.name
        return SLOW_FILES_FIRST.index(name) if name in SLOW_FILES_FIRST else len(SLOW_FILES_FIRST)
    items.sort(key=rank)  # stable: each file keeps its own order


def pytest_configure(config):
    config.addinivalue_line('markers', 'exclusive: the test disturbs what others share (it restarts dockerd); '
                                       'make test runs these alone, after the parallel run')
    config.addinivalue_line('markers', 'unreliable: a known intermittent failure, named in the test; make test leaves it '
                                       'out (run it with -m unreliable)')


def _ensure_engine(name):
    """Start the engine (scripts/engines.sh is idempotent) and build the demo images once."""
    if name not in _ready:
        subprocess.run(['bash', str(REPO / 'scripts' / 'engines.sh'), name], check=True, capture_output=True)
        import docker
        client = docker.DockerClient(base_url=ENGINES[name]['engine_host'])
        try:
            client.images.get(ENGINES[name]['image_prefix'] + 'demoapp:v3')
        except docker.errors.ImageNotFound:
            subprocess.run(['bash', str(REPO / 'scripts' / 'build-images.sh'), name], check=True,
                           capture_output=True)
        try:
            client.images.get(ENGINES[name]['image_prefix'] + 'cutover-haproxy:local')
        except docker.errors.ImageNotFound:  # the default HAProxy on a host without systemd is a container
            subprocess.run(['bash', str(REPO / 'scripts' / 'build-proxy-image.sh'), name], check=True,
                           capture_output=True)
        _ready[name] = client
    return _ready[name]


class EngineUnderTest:
    def __init__(self, name, client):
        self.name = name
        self.client = client
        self.host = ENGINES[name]['engine_host']
        self.prefix = ENGINES[name]['image_prefix']

    def image(self, tag):
        return '%sdemoapp:%s' % (self.prefix, tag)

    @property
    def proxy_image(self):
        """HAProxy built from this machine's binary (scripts/build-proxy-image.sh): no registry is reachable here for
        the default docker.io/library/haproxy:2.6."""
        return '%scutover-haproxy:local' % self.prefix

    def remove_proxy(self, config_dir):
        """Remove the HAProxy container Cutover runs for config_dir on this engine, if any."""
        import docker
        try:
            self.client.containers.get(proxy_container_name(config_dir)).remove(force=True)
        except docker.errors.NotFound:
            pass

    def containers(self, service):
        # ignore_removed: a retiring container's helper may remove it between the listing and its inspect
        return self.client.containers.list(all=True, ignore_removed=True,
                                           filters={'label': 'io.cutover.service=%s' % service})

    def remove_service(self, service):
        import docker
        for c in self.containers(service):
            try:
                c.remove(force=True)
            except docker.errors.NotFound:
                pass  # removed meanwhile (a retiring container's helper removes it once stopped)
            except docker.errors.APIError as exc:
                if exc.status_code != 409:  # 409: its removal is already in progress (the helper again)
                    raise


@pytest.fixture(params=['docker', 'podman'])
def engine(request):
    return EngineUnderTest(request.param, _ensure_engine(request.param))


@pytest.fixture
def docker_engine():
    return EngineUnderTest('docker', _ensure_engine('docker'))


@pytest.fixture
def podman_engine():
    return EngineUnderTest('podman', _ensure_engine('podman'))


@pytest.fixture
def service(request):
    """A unique service name; every container labelled with it is removed afterwards."""
    name = 't%s' % uuid.uuid4().hex[:8]
    yield name
    for engine_name, client in _ready.items():
        EngineUnderTest(engine_name, client).remove_service(name)
