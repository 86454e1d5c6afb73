"""The Kubernetes target against a real cluster: what the emulator cannot prove (real
server-side apply, the real Deployment controller and kubelet, real image pulls, probes
and crash back-off, the API's service proxy to real pods).

Runs when KUBECONFIG points at a reachable cluster and K8S_TEST_IMAGE_1 / _2 name two
builds of the app (repo@sha256:…) the cluster can pull -- the ci-cd workflow's
``k8s-kind`` job creates a kind cluster with a local registry and sets them. Otherwise
every test skips and says why (real_service: also in CI), unless
K8S_REAL_CLUSTER_REQUIRED is set (the kind job), which makes that a failure. Each run deploys into a
namespace of its own and deletes it afterwards (the test's namespace, not the tool).
"""

from __future__ import annotations

import os
import secrets
import shutil
import time

import pytest
from helpers import ROOT, invoke

pytestmark = [pytest.mark.integration, pytest.mark.real_service]

IMAGES = [os.environ.get("K8S_TEST_IMAGE_1", ""), os.environ.get("K8S_TEST_IMAGE_2", "")]
#: The real-cluster overlay: the test overlay with no dependency on Redis/Mongo (the
#: app's readiness checks only configured dependencies) and a short progress deadline.
PATCH = """\
  - target: {kind: Deployment}
    patch: |-
      - op: remove
        path: /spec/template/spec/containers/0/env
      - op: replace
        path: /spec/progressDeadlineSeconds
        value: 120
      - op: replace
        path: /spec/replicas
        value: 2
"""


def _cluster_reachable() -> str:
    if not os.environ.get("KUBECONFIG"):
        return "KUBECONFIG is not set: no real cluster to test against"
    if not all("@sha256:" in image for image in IMAGES):
        return "K8S_TEST_IMAGE_1 and K8S_TEST_IMAGE_2 (repo@sha256:…) are not both set"
    from kubernetes import client, config

    try:
        api = config.new_client_from_config(config_file=os.environ["KUBECONFIG"])
        client.VersionApi(api).get_code(_request_timeout=5)
    except Exception as exc:  # noqa: BLE001 - the reason is the skip message
        return f"the cluster in KUBECONFIG does not answer: {exc}"
    return ""


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    why = _cluster_reachable()
    if why and os.environ.get("K8S_REAL_CLUSTER_REQUIRED"):
        pytest.fail(why)  # the kind job must not pass by skipping
    if why:
        pytest.skip(why)
    from kubernetes import client, config

    namespace = f"sw-real-{secrets.token_hex(3)}"
    api = config.new_client_from_config(config_file=os.environ["KUBECONFIG"])
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": namespace}})
    folder = tmp_path_factory.mktemp("k8s-real")
    shutil.copytree(ROOT / "deploy" / "k8s", folder / "k8s")
    overlay = folder / "k8s" / "overlays" / "real"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "buildMetadata: [originAnnotations]\nresources: [../test]\npatches:\n" + PATCH
    )
    env = {
        "DEPLOY_TARGET": "k8s",
        "K8S_MANIFESTS": str(folder / "k8s"),
        "K8S_OVERLAY": "real",
        "K8S_NAMESPACE": namespace,
        "K8S_READY_BUDGET": "90",
        "MONGO_URI": "",
        "REDIS_URI": "",
        "SHIPWRIGHT_STATE_DIR": str(folder / "state"),
    }
    try:
        yield env, namespace, core
    finally:
        core.delete_namespace(namespace)
        api.close()


def cli(env, *args):
    return invoke(*args, env=env, timeout=600)


def deploy(env, image, *extra):
    return cli(env, "deploy", "--env", "test", "--no-gates", "--no-watch", "--image", image, *extra)


def test_deploy_fail_fast_restore_rollback_run(real):
    env, namespace, core = real
    first, second = IMAGES
    done = deploy(env, first)
    assert done.code == 0, done.output
    assert "successfully rolled out" in done.output

    bad = first.split("@")[0] + "@sha256:" + "0" * 64  # a digest no registry has
    began = time.monotonic()
    failed = deploy(env, bad)
    assert failed.code == 3, failed.output
    assert "ErrImagePull" in failed.output or "ImagePullBackOff" in failed.output
    assert time.monotonic() - began < 110  # well before the 120 s progress deadline

    assert deploy(env, second).code == 0
    back = cli(env, "rollback", "--env", "test")
    assert back.code == 0, back.output
    state = cli(env, "status", "--env", "test", "--json")
    assert state.code == 0 and first.split("@")[1] in state.output

    job = cli(env, "run", "--env", "test", "--", "sh", "-c", "echo real-$((40 + 2)); exit 3")
    assert job.code == 3 and "real-42" in job.output
    assert "rev " in cli(env, "status", "--env", "test").output
    assert cli(env, "logs", "--env", "test").code == 0
    lease = client_lease(core, namespace)
    assert lease is not None and not lease.spec.holder_identity  # released


def client_lease(core, namespace):
    from kubernetes import client

    return client.CoordinationV1Api(core.api_client).read_namespaced_lease(
        "shipwright-deploy-test", namespace
    )


def test_diff_against_the_real_api(real):
    env, _, _ = real
    first = IMAGES[0]
    assert deploy(env, first).code == 0
    assert cli(env, "k8s.diff", "--env", "test", "--image", first).code == 0
    assert cli(env, "k8s.diff", "--env", "test", "--image", IMAGES[1]).code == 1


def test_blue_green_switch_and_back(real):
    env, namespace, core = real
    own = f"{namespace}-bg"  # not beside the rolling Deployment of the other tests
    core.create_namespace({"metadata": {"name": own}})
    bg = {**env, "K8S_STRATEGY": "bluegreen", "K8S_NAMESPACE": own}
    first, second = IMAGES
    try:
        assert deploy(bg, first).code == 0
        assert deploy(bg, second).code == 0
        service = core.read_namespaced_service("learinal-backend", own)
        assert service.spec.selector["shipwright.io/color"] == "green"
        assert cli(bg, "rollback", "--env", "test").code == 0
        service = core.read_namespaced_service("learinal-backend", own)
        assert service.spec.selector["shipwright.io/color"] == "blue"
    finally:
        core.delete_namespace(own)
