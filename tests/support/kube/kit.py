"""What the Kubernetes tests share: settings pointing at the emulated cluster, releases
whose images behave as a scenario needs, and an overlay of the real staging overlay
with test-sized budgets."""

from __future__ import annotations

import hashlib
import secrets
import shutil
from pathlib import Path

from helpers import ROOT

from shipwright.domain import Release
from shipwright.errors import ShipwrightError
from shipwright.flow import commands
from shipwright.runner import Runner
from shipwright.settings import Settings, load_settings
from support.kube import Cluster, Image

REPO = "127.0.0.1:5000/learinal-backend"
CANARY = "CANARYk8s"
#: Valid for staging, and each one a canary: none may appear in any output.
SECRETS = {
    "MONGO_URI": f"mongodb://app:{CANARY}mongo@db.example:27017/learinal",
    "REDIS_URI": f"redis://:{CANARY}redis@cache.example:6379",
    "JWT_SECRET": f"{CANARY}-jwt-0123456789abcdef0123456789",
    "JWT_REFRESH_SECRET": f"{CANARY}-refresh-0123456789abcdef012345",
    "STRIPE_SECRET_KEY": f"sk_test_{CANARY}stripe",
    "STRIPE_WEBHOOK_SECRET": f"whsec_{CANARY}hook",
}


def by_digest(r: Release) -> str:
    """The image reference a pod of ``r`` runs (repository@digest)."""
    return f"{REPO}@{r.image.split('@', 1)[1]}"


def release(cluster: Cluster, version: str, behaviour: str | None = "ok", **image) -> Release:
    """A release of an image of its own whose pods do ``behaviour`` (None: the image
    cannot be pulled)."""
    digest = "sha256:" + hashlib.sha256(secrets.token_bytes(16)).hexdigest()
    r = Release("staging", version, f"{REPO}:{version}@{digest}", git_sha="abc1234")
    if behaviour is not None:
        cluster.image(by_digest(r), Image(behaviour, **image))
    return r


def manifests(folder: Path, *, deadline: int = 600, extra_patch: str = "") -> Path:
    """deploy/k8s plus overlays/emulated: the staging overlay with its progress deadline
    set to ``deadline`` seconds (and ``extra_patch``, JSON-patch lines, if any)."""
    target = folder / "k8s"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ROOT / "deploy" / "k8s", target)
    overlay = target / "overlays" / "emulated"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "buildMetadata: [originAnnotations]\n"
        "resources: [../staging]\n"
        "patches:\n"
        "  - target: {kind: Deployment}\n"
        "    patch: |-\n"
        "      - op: replace\n"
        "        path: /spec/progressDeadlineSeconds\n"
        f"        value: {deadline}\n" + extra_patch
    )
    return target


def overrides(cluster: Cluster, folder: Path, namespace: str, **more: str) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    return {
        **SECRETS,
        "DEPLOY_TARGET": "k8s",
        "KUBECONFIG": str(cluster.write_kubeconfig(folder)),
        "K8S_NAMESPACE": namespace,
        "K8S_MANIFESTS": str(more.pop("K8S_MANIFESTS", None) or manifests(folder)),
        "K8S_OVERLAY": "emulated",
        "K8S_POLL_INTERVAL": "0.2",
        "K8S_LOCK_SECONDS": "30",
        "DEPLOY_READY_TIMEOUT": "5",
        "SHIPWRIGHT_STATE_DIR": str(folder / "state"),
        **more,
    }


def settings(cluster: Cluster, folder: Path, namespace: str, **more: str) -> Settings:
    return load_settings(
        "staging", overrides=overrides(cluster, folder, namespace, **more), environ={}
    )


def deploy(s: Settings, r: Release) -> int:
    """The exit code of ``invoke deploy --no-gates --no-watch`` for ``r``."""
    try:
        commands.deploy(s, Runner(echo=False), release=r, gates=False, watch=False)
    except ShipwrightError as exc:
        return int(exc.exit_code)
    return 0


def rollback(s: Settings, to: str | None = None) -> int:
    try:
        commands.rollback(s, Runner(echo=False), to=to, reason="test")
    except ShipwrightError as exc:
        return int(exc.exit_code)
    return 0
