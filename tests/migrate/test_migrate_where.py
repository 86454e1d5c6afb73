"""Where migrations run: without a target that answers (no hosts configured, none
reachable) migrate.* says why and that ``--local`` runs them on this machine; nothing
is written."""

from __future__ import annotations

import pytest
from mongokit import mongo, server  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "hosts, reason",
    [("", "DEPLOY_HOSTS is empty"), ("127.0.0.1:1", "")],  # loopback, nothing listens
)
def test_without_a_reachable_target_migrate_suggests_local(mongo, hosts, reason):  # noqa: F811
    result = mongo.cli("migrate.up", "--env", "test", DEPLOY_TARGET="compose", DEPLOY_HOSTS=hosts)
    assert result.code != 0, result.output
    assert reason in result.stderr and "--local" in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert mongo.runs() == []
