"""The ledger and the releases' templates, as ConfigMaps in the namespace.

Why one ConfigMap per ledger entry: an append is one create (atomic, no read-modify-write
race between two writers, no 1 MiB object limit to outgrow); reading lists them by label.
Why each release's bound template is kept too: a rollback returns to exactly what its
release applied (image digest, pod template, the ConfigMap and Secret names it used), not
to whatever ReplicaSet happens to be previous -- after two bad deploys in a row
``kubectl rollout undo`` would land on the other bad one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from shipwright.errors import ShipwrightError
from shipwright.redact import redact_obj
from shipwright.targets.k8s.bind import ENV_LABEL, MANAGED, Bound, label_value
from shipwright.targets.k8s.client import Kube
from shipwright.targets.k8s.render import Manifest

LEDGER = "shipwright.io/ledger"
TEMPLATE = "shipwright.io/release-template"


def _name(prefix: str, key: str) -> str:
    """A DNS-1123 name for ``key`` (lower-case; a hash keeps it unique when shortened)."""
    safe = "".join(ch if ch.isalnum() else "-" for ch in key.lower()).strip("-")
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{prefix}-{safe[:40]}-{digest}"


class ConfigMapLedgerStore:
    """A LedgerStore (shipwright.ledger): ``shipwright-ledger-<env>-<id>`` ConfigMaps."""

    def __init__(self, kube: Kube):
        self.kube = kube

    def load(self, environment: str) -> list[dict[str, Any]]:
        found = self.kube.list("v1", "ConfigMap", f"{LEDGER}={label_value(environment)}")
        entries = []
        for cm in found:
            try:
                entries.append(json.loads((cm.get("data") or {}).get("entry.json", "")))
            except ValueError:
                continue  # an unreadable entry is skipped, like a torn line in a file
        return sorted(entries, key=lambda e: str(e.get("id", "")))

    def append(self, environment: str, entry: dict[str, Any]) -> None:
        self.kube.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": _name(f"shipwright-ledger-{environment}", str(entry.get("id", ""))),
                    "namespace": self.kube.namespace,
                    "labels": {**MANAGED, ENV_LABEL: environment, LEDGER: label_value(environment)},
                },
                "data": {"entry.json": json.dumps(redact_obj(entry), sort_keys=True)},
            }
        )


class TemplateStore:
    """What each release applied, secret values excepted: ``<app>-release-<version>``."""

    def __init__(self, kube: Kube, app: str, environment: str):
        self.kube, self.app, self.environment = kube, app, environment

    def name(self, version: str) -> str:
        return _name(f"{self.app}-release", version)

    def body(self, version: str, bound: Bound) -> dict[str, Any]:
        """The ConfigMap keeping ``bound`` (uncoloured; the Secret by name only)."""
        template = {
            "namespace": bound.namespace,
            "deployment": _keep(bound.deployment),
            "service": _keep(bound.service),
            "config": _keep(bound.config),
            "others": [_keep(m) for m in bound.others],
            "secret": bound.secret_name,
        }
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name(version),
                "namespace": self.kube.namespace,
                "labels": {**MANAGED, ENV_LABEL: self.environment, TEMPLATE: label_value(self.app)},
            },
            "data": {"version": version, "template.json": json.dumps(template, sort_keys=True)},
        }

    def load(self, version: str) -> Bound:
        """The Bound ``version`` applied (its Secret is not rebuilt: ``secret_name``)."""
        cm = self.kube.get("v1", "ConfigMap", self.name(version))
        if cm is None:
            raise ShipwrightError(
                f"no template of {version} in {self.kube.namespace} (ConfigMap "
                f"{self.name(version)}): it was never deployed here, or was pruned"
            )
        data = json.loads(cm["data"]["template.json"])
        return Bound(
            data["namespace"],
            _manifest(data["deployment"]),
            service=_manifest(data.get("service")),
            config=_manifest(data.get("config")),
            others=[_manifest(o) for o in data.get("others") or []],
            secret_name=data.get("secret"),
        )

    def all(self) -> list[dict[str, Any]]:
        return self.kube.list("v1", "ConfigMap", f"{TEMPLATE}={label_value(self.app)}")


def _keep(m: Manifest | None) -> dict[str, Any] | None:
    return None if m is None else {"obj": m.obj, "origin": m.origin}


def _manifest(data: dict[str, Any] | None) -> Manifest | None:
    return None if data is None else Manifest(data["obj"], data["origin"])
