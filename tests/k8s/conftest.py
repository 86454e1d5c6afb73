"""One emulated cluster per test module; each test deploys into a namespace of its own."""

from __future__ import annotations

import secrets

import pytest
from support.kube import Cluster


@pytest.fixture(scope="module")
def cluster():
    with Cluster() as running:
        yield running
        assert not running.errors, running.errors  # a controller or kubelet crash fails


@pytest.fixture
def namespace() -> str:
    return f"t-{secrets.token_hex(4)}"
