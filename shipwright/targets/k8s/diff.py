"""``invoke k8s.diff``: what applying a release would change, as ``kubectl diff`` shows it.

Each object is sent as a server-side apply with ``dryRun=All``: the API server merges it
with what is live (defaults, other managers' fields, admission) and stores nothing. The
live object and that answer are compared as YAML, with the server's bookkeeping
(managedFields, resourceVersion, uid, timestamps, status; who deployed and when)
left out and every Secret's
values masked on both sides -- a changed Secret still shows, by its new hashed name.
Exit 0: no differences; 1: differences; 2: an error (as kubectl diff).
"""

from __future__ import annotations

import copy
import difflib
import json
from typing import Any

import yaml

from shipwright.targets.k8s.bind import RELEASE, Bound, mask
from shipwright.targets.k8s.client import Kube

BOOKKEEPING = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation")


def normalised(obj: dict[str, Any] | None) -> str:
    if obj is None:
        return ""
    shown = mask(copy.deepcopy(obj))
    shown.pop("status", None)
    meta = shown.get("metadata") or {}
    for key in BOOKKEEPING:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    annotations.pop("deployment.kubernetes.io/revision", None)
    if RELEASE in annotations:  # who deploys and when is not a change to the release
        release = json.loads(annotations[RELEASE])
        annotations[RELEASE] = json.dumps(
            {k: v for k, v in release.items() if k not in ("who", "when")}, sort_keys=True
        )
    if not annotations:
        meta.pop("annotations", None)
    return yaml.safe_dump(shown, sort_keys=True, default_flow_style=False)


def diff(kube: Kube, bound: Bound) -> list[str]:
    """Unified diffs, one per object that would change (empty: nothing would)."""
    out = []
    for m in bound.objects():
        live = kube.get(m.obj["apiVersion"], m.kind, m.name)
        merged = kube.apply(m.obj, dry_run=True)
        before, after = normalised(live), normalised(merged)
        if before == after:
            continue
        label = f"{m.kind}/{m.name} ({m.origin})"
        out.append(
            "".join(
                difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    fromfile=f"live {label}" if live else "/dev/null",
                    tofile=f"applied {label}",
                )
            )
        )
    return out
