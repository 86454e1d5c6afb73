"""The local AWS endpoint and the local app for the App Runner and Express tests, the
world rebuilt empty for each test that asks for it (``world``)."""

from __future__ import annotations

import pytest
from helpers import require
from support.ecsworld import aws_environ
from support.runnerworld import LocalApp, RunnerWorld, smoke_suite
from support.sandbox import MotoServer


@pytest.fixture(scope="session")
def runner_moto():
    try:
        server = MotoServer()
        server.start()
    except Exception as exc:  # noqa: BLE001 - moto missing: the reason is printed
        require(False, f"the local AWS endpoint (moto) cannot start: {exc}")
    try:
        with aws_environ(server):
            yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def local_app():
    app = LocalApp()
    yield app
    app.stop()


@pytest.fixture
def world(runner_moto, local_app, tmp_path) -> RunnerWorld:
    return RunnerWorld(runner_moto, local_app, smoke_suite(tmp_path)).build()
