"""The conformance suite runs every test in test_target_contract.py once per target."""

from __future__ import annotations

import pytest
from harness_apprunner import (  # noqa: F401 - fixtures
    apprunner_harness,
    ecs_express_harness,
    monkeypatch_module,
    runner_world,
)
from harness_compose import compose_harness  # noqa: F401 - fixtures
from harness_ecs import ecs_harness  # noqa: F401
from harness_k8s import k8s_harness  # noqa: F401
from harness_local import local_harness  # noqa: F401

#: DEPLOY_TARGET names; each has a ``<name>_harness`` fixture.
TARGETS = ["compose", "local", "ecs", "apprunner", "ecs-express", "k8s"]


@pytest.fixture(scope="module", params=TARGETS)
def harness(request):
    return request.getfixturevalue(f"{request.param.replace('-', '_')}_harness")
