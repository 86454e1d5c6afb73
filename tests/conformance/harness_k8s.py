"""The Kubernetes target against the in-suite API server (tests/support/kube) over real
HTTP: its kubelet makes the good releases' pods ready and the bad release's image
cannot be pulled, so the bad deploy fails fast and the previous release is restored."""

from __future__ import annotations

import secrets

import pytest
from harness import Harness

from shipwright.errors import ExitCode


@pytest.fixture(scope="module")
def k8s_harness(tmp_path_factory):
    from support.kube import Cluster
    from support.kube.kit import release, settings

    with Cluster() as cluster:
        folder = tmp_path_factory.mktemp("k8s-conformance")
        yield Harness(
            "k8s",
            settings(cluster, folder, f"conf-{secrets.token_hex(3)}"),
            (release(cluster, "v1"), release(cluster, "v2")),
            release(cluster, "bad", None),
            bad_exit=ExitCode.RESTORED,  # the Deployment changed, then v1's template is back
        )
