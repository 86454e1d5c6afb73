"""The deployment metrics table: each measured value beside the specification's limits.

Why a fixed table: the specification (Monitoring Deployments -> Deployment Metrics)
sets a target and a critical limit for deployment time, downtime, error spike and
rollback time. Showing every deploy against the same four rows makes a slow drift
visible long before a limit is crossed. One table, three renderings: the terminal
(output.table), ``--json`` (as_dict) and the CI step summary (as_markdown).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipwright.output import emit_json, markdown_table, step_summary, table

MET, WITHIN, BEYOND, UNMEASURED = "target met", "within critical", "beyond critical", "not measured"
MARKS = {MET: "✔", WITHIN: "⚠", BEYOND: "✘", UNMEASURED: "–"}

#: The keys a ledger entry's ``metrics`` may carry for :func:`from_entry`.
KEYS = ("deployment_seconds", "downtime_seconds", "error_spike", "rollback_seconds")


@dataclass(frozen=True)
class Limit:
    """One row of the specification's table: below ``target`` meets it, below
    ``critical`` is within it (``target`` 0 means "exactly zero")."""

    metric: str
    key: str
    target: float
    critical: float
    target_text: str
    critical_text: str
    unit: str  # "s" or "x"

    def status(self, value: float | None) -> str:
        if value is None:
            return UNMEASURED
        if value < self.target or (self.target == 0 and value <= 0):
            return MET
        return WITHIN if value < self.critical else BEYOND


LIMITS: tuple[Limit, ...] = (
    Limit("Deployment Time", "deployment_seconds", 600, 1200, "< 10 min", "< 20 min", "s"),
    Limit("Downtime", "downtime_seconds", 0, 30, "0 sec", "< 30 sec", "s"),
    Limit("Error Spike", "error_spike", 2, 5, "< 2x baseline", "< 5x baseline", "x"),
    Limit("Rollback Time", "rollback_seconds", 300, 600, "< 5 min", "< 10 min", "s"),
)


@dataclass(frozen=True)
class Row:
    limit: Limit
    value: float | None

    @property
    def status(self) -> str:
        return self.limit.status(self.value)

    @property
    def shown(self) -> str:
        if self.value is None:
            return "–"
        if self.limit.unit == "x":
            return f"{self.value:.1f}x"
        return seconds_text(self.value)

    @property
    def verdict(self) -> str:
        return f"{MARKS[self.status]} {self.status}"

    def cells(self) -> list[str]:
        return [
            self.limit.metric,
            self.shown,
            self.limit.target_text,
            self.limit.critical_text,
            self.verdict,
        ]


def seconds_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds % 1 else f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s"


def evaluate(
    *,
    deployment_seconds: float | None = None,
    downtime_seconds: float | None = None,
    error_spike: float | None = None,
    rollback_seconds: float | None = None,
) -> list[Row]:
    """The four rows; a value not measured (no rollback happened, no baseline) is shown
    as such rather than as a pass."""
    values = {
        "deployment_seconds": deployment_seconds,
        "downtime_seconds": downtime_seconds,
        "error_spike": error_spike,
        "rollback_seconds": rollback_seconds,
    }
    return [Row(limit, values[limit.key]) for limit in LIMITS]


def from_entry(entry: Any) -> list[Row]:
    """Rows from a ledger entry (object or dict): ``metrics`` keys named in KEYS win;
    otherwise a deploy's time is the sum of its phases, and so is a rollback's."""
    metrics: Mapping[str, Any] = _get(entry, "metrics") or {}
    phases: Mapping[str, float] = _get(entry, "phases") or {}
    took = float(sum(phases.values())) if phases else None
    action = _get(entry, "action") or "deploy"
    spike = metrics.get("error_spike")
    if spike is None and isinstance(metrics.get("watch"), Mapping):
        spike = metrics["watch"].get("spike")
    deployment = _number(metrics.get("deployment_seconds"))
    rollback = _number(metrics.get("rollback_seconds"))
    return evaluate(
        deployment_seconds=took if deployment is None and action == "deploy" else deployment,
        downtime_seconds=_number(metrics.get("downtime_seconds")),
        error_spike=_number(spike),
        rollback_seconds=took if rollback is None and action == "rollback" else rollback,
    )


def _get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, Mapping) else getattr(item, key, None)


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


COLUMNS = ("Metric", "Measured", "Target", "Critical", "Status")


def worst(rows: list[Row]) -> str:
    order = [UNMEASURED, MET, WITHIN, BEYOND]
    return max((row.status for row in rows), key=order.index, default=UNMEASURED)


def as_dict(rows: list[Row]) -> dict[str, Any]:
    """For --json: one object per metric, keyed by its ledger key."""
    return {
        "metrics": {
            row.limit.key: {
                "metric": row.limit.metric,
                "value": row.value,
                "target": row.limit.target_text,
                "critical": row.limit.critical_text,
                "status": row.status,
            }
            for row in rows
        },
        "worst": worst(rows),
    }


def as_markdown(rows: list[Row], title: str = "Deployment metrics") -> str:
    return f"### {title}\n\n" + markdown_table(COLUMNS, [row.cells() for row in rows])


def render(rows: list[Row], *, title: str = "Deployment metrics", json: bool = False) -> None:
    """Print the table (or JSON) and append the Markdown to the CI step summary."""
    if json:
        emit_json(as_dict(rows))
    else:
        table(title, COLUMNS, [row.cells() for row in rows])
    step_summary(as_markdown(rows, title))
