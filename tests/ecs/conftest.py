"""One local AWS endpoint for the ECS tests, rebuilt empty for each test that asks for
the world (``ecs_world``)."""

from __future__ import annotations

import pytest
from helpers import invoke
from support.ecsworld import EcsMoto, EcsWorld, serving


@pytest.fixture(scope="session")
def ecs_moto():
    with serving(EcsMoto()) as server:
        yield server


@pytest.fixture
def ecs_world(ecs_moto) -> EcsWorld:
    return EcsWorld(ecs_moto).build()


@pytest.fixture
def cli(ecs_world):
    """``cli("status", "--env", "staging")``: the real CLI pointed at the world."""
    env = ecs_world.cli_env()

    def run(*args: str, **extra: str):
        return invoke(*args, env={**env, **extra}, timeout=180)

    run.world = ecs_world
    return run
