"""The local AWS endpoint and the local app for the App Runner and Express tests, the
world rebuilt empty for each test that asks for it (``world``)."""

from __future__ import annotations

import pytest
from support.ecsworld import serving
from support.runnerworld import LocalApp, RunnerWorld, smoke_suite
from support.sandbox import MotoServer


@pytest.fixture(scope="session")
def runner_moto():
    with serving(MotoServer()) as server:
        yield server


@pytest.fixture(scope="session")
def local_app():
    app = LocalApp()
    yield app
    app.stop()


@pytest.fixture
def world(runner_moto, local_app, tmp_path) -> RunnerWorld:
    return RunnerWorld(runner_moto, local_app, smoke_suite(tmp_path)).build()
