"""What ``invoke status`` adds for an Express service to the ECS target's view: its
status and each active configuration (image, size, health path, task range, endpoints)."""

from __future__ import annotations

from typing import Any

from shipwright.targets.ecs.service import revision_of


def express_notes(express: dict[str, Any]) -> list[str]:
    status = express.get("status") or {}
    notes = [f"express: {status.get('statusCode', '?')} {status.get('statusReason', '')}".rstrip()]
    for config in express.get("activeConfigurations") or []:
        container = config.get("primaryContainer") or {}
        scaling = config.get("scalingTarget") or {}
        ends = ", ".join(
            f"{p.get('accessType')} {p.get('endpoint')}" for p in config.get("ingressPaths") or []
        )
        notes.append(
            f"active configuration {revision_of(config.get('serviceRevisionArn'))}: "
            f"{container.get('image')}, {config.get('cpu')} CPU / {config.get('memory')} MiB, "
            f"health {config.get('healthCheckPath')}, tasks {scaling.get('minTaskCount')}-"
            f"{scaling.get('maxTaskCount')}, endpoint {ends or '-'}"
        )
    return notes
