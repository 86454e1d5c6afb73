"""Rendering with the real ``kubectl kustomize`` and binding a release, in process (no
cluster): the digest, hashed ConfigMap/Secret names and references, masking, and the
refusals that leave everything unchanged (exit 2)."""

from __future__ import annotations

import shutil

import pytest
from helpers import ROOT, invoke

from shipwright.domain import Release
from shipwright.errors import ConfigError
from shipwright.runner import Runner
from shipwright.settings import load_settings
from shipwright.settings.schema import BUILTIN_ENVIRONMENTS
from shipwright.targets.k8s.bind import bind, colour
from shipwright.targets.k8s.config import K8sConfig
from shipwright.targets.k8s.render import kustomize

DIGEST = "sha256:" + "ab" * 32
SECRETS = {
    "MONGO_URI": "mongodb://u:Pa55word99@db/x",
    "REDIS_URI": "redis://cache:6379",
    "JWT_SECRET": "j" * 32,
    "JWT_REFRESH_SECRET": "r" * 32,
    "STRIPE_SECRET_KEY": "sk_test_x1",
    "STRIPE_WEBHOOK_SECRET": "whsec_y2",
}
RELEASE = Release("staging", "v7", f"127.0.0.1:5000/learinal-backend:v7@{DIGEST}", git_sha="f00")

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")


def bound_for(**more):
    s = load_settings("staging", overrides={**SECRETS, **more}, environ={})
    cfg = K8sConfig.from_settings(s)
    return bind(kustomize(cfg, Runner(echo=False)), RELEASE, s, cfg)


def test_the_release_is_bound_by_digest_with_hashed_config_and_secret():
    b = bound_for()
    pod = b.deployment.obj["spec"]["template"]["spec"]
    app = pod["containers"][0]
    assert app["image"] == f"127.0.0.1:5000/learinal-backend@{DIGEST}"
    assert {"name": "APP_VERSION", "value": "v7"} in app["env"]
    assert (
        b.secret.name.startswith("learinal-backend-secrets-")
        and b.config.name != "learinal-backend-config"
    )
    refs = [e["valueFrom"]["secretKeyRef"]["name"] for e in app["env"] if "valueFrom" in e]
    assert set(refs) == {b.secret.name}
    assert app["envFrom"] == [
        {"configMapRef": {"name": b.config.name}},
        {"secretRef": {"name": b.secret.name}},
    ]
    assert "MONGO_URI" not in b.config.obj["data"] and b.config.obj["data"]["LOG_LEVEL"] == "info"
    assert (
        b.namespace == "learinal-staging"
        and b.deployment.origin == "deploy/k8s/base/deployment.yaml"
    )
    shown = str(b.masked())
    assert "Pa55word99" not in shown and "UGE1NXdvcmQ5O" not in shown  # nor its base64


def test_a_changed_secret_changes_the_name_and_so_the_pod_template():
    assert bound_for().secret.name != bound_for(JWT_SECRET="k" * 32).secret.name


def test_blue_green_colours_deployment_selector_and_services():
    b = colour(bound_for(), "green", "blue")
    assert b.deployment.name == "learinal-backend-green"
    assert b.deployment.obj["spec"]["selector"]["matchLabels"]["shipwright.io/color"] == "green"
    assert b.service.obj["spec"]["selector"]["shipwright.io/color"] == "blue"
    assert b.preview.obj["spec"]["selector"]["shipwright.io/color"] == "green"


def test_a_required_key_the_settings_lack_is_refused_naming_it_and_the_file():
    s = load_settings("test", overrides={"MONGO_URI": "", "REDIS_URI": "redis://x:1"}, environ={})
    cfg = K8sConfig.from_settings(s)
    with pytest.raises(
        ConfigError, match=r"MONGO_URI is required by deploy/k8s/base/deployment.yaml"
    ):
        bind(kustomize(cfg, Runner(echo=False)), RELEASE, s, cfg)


def test_a_secret_value_in_the_repository_is_refused(tmp_path):
    folder = tmp_path / "k8s"
    shutil.copytree(ROOT / "deploy" / "k8s", folder)
    path = folder / "base" / "secret.yaml"
    path.write_text(
        path.read_text().replace('JWT_SECRET: ""', 'JWT_SECRET: "committed-by-mistake"')
    )
    with pytest.raises(ConfigError, match="JWT_SECRET: secret values never live in the repository"):
        bound_for(K8S_MANIFESTS=str(folder))


@pytest.mark.parametrize("env", BUILTIN_ENVIRONMENTS)
def test_every_environment_validates(env):
    result = invoke("k8s.validate", "--env", env, timeout=120)
    assert result.code == 0, result.output


def test_a_broken_manifest_fails_naming_file_and_field(tmp_path):
    folder = tmp_path / "k8s"
    shutil.copytree(ROOT / "deploy" / "k8s", folder)
    path = folder / "base" / "deployment.yaml"
    text = path.read_text().replace("  revisionHistoryLimit: 10", "  revisionHistoryLimt: 10")
    path.write_text(text.replace("periodSeconds: 5", "periodSeconds: five"))
    result = invoke("k8s.validate", "--env", "production", "--set", f"K8S_MANIFESTS={folder}")
    assert result.code == 2
    assert (
        "base/deployment.yaml: Deployment/learinal-backend: spec: Additional properties"
        in result.output
    )
    assert "'revisionHistoryLimt' was unexpected" in result.output
    assert "readinessProbe.periodSeconds: 'five' is not of type 'integer'" in result.output


def test_an_unknown_kubernetes_version_names_the_setting():
    result = invoke("k8s.validate", "--env", "staging", "--set", "K8S_VERSION=1.99")
    assert result.code == 2 and "K8S_VERSION=1.99 (set by --set)" in result.output
