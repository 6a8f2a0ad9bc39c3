"""Fixtures of the end-to-end tests: a Site per test, on each engine or on Docker, its proxy stopped after."""

from __future__ import annotations

import pytest

from tests.sites import Site


@pytest.fixture
def site(engine, service, tmp_path):
    s = Site(engine, service, tmp_path)
    yield s
    s.stop_proxy()


@pytest.fixture
def docker_site(docker_engine, service, tmp_path):
    s = Site(docker_engine, service, tmp_path)
    yield s
    s.stop_proxy()
