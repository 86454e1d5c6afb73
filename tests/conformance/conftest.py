"""The conformance suite runs every test in test_target_contract.py once per target."""

from __future__ import annotations

import pytest
from harness_compose import compose_harness  # noqa: F401 - fixtures
from harness_k8s import k8s_harness  # noqa: F401
from harness_local import local_harness  # noqa: F401

#: DEPLOY_TARGET names; each has a ``<name>_harness`` fixture.
TARGETS = ["compose", "local", "k8s"]


@pytest.fixture(scope="module", params=TARGETS)
def harness(request):
    return request.getfixturevalue(f"{request.param}_harness")
