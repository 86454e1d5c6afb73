"""The Compose-hosts target on two real SSH hosts (network namespaces, own dockerd, sshd
and nginx each) pulling from a real registry."""

from __future__ import annotations

import pytest
from harness import Harness
from helpers import require
from support.fleet import fleet, missing_components

from shipwright.errors import ExitCode


@pytest.fixture(scope="module")
def compose_harness():
    missing = missing_components()
    require(not missing, f"real SSH hosts need: {', '.join(missing)}")
    with fleet(2) as built:
        settings = built.settings(DEPLOY_BATCH_SIZE="1", LOG_LEVEL="info")  # logs to read
        yield Harness(
            "compose",
            settings,
            (built.release("v1"), built.release("v2")),
            built.release("unhealthy"),
            bad_exit=ExitCode.FAILED,  # never ready on its idle slot: no traffic moved
        )
