"""After a rollback: a postmortem skeleton, written while the facts are fresh.

Why: the specification's rollback checklist ends with "Create postmortem issue", and
the facts a postmortem needs -- what was deployed, what served before, the timeline,
the metrics that triggered the rollback -- are all at hand the moment the tool rolls
back, and scattered an hour later. The file goes to ``.shipwright/postmortems/``
(redacted like everything else that leaves the program) for a human to finish.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipwright import PROJECT_ROOT
from shipwright.domain import Release
from shipwright.output import markdown_table
from shipwright.redact import REDACTOR
from shipwright.state import state_dir

#: The specification's Rollback Checklist, with the short keys callers tick items by.
CHECKLIST: tuple[tuple[str, str], ...] = (
    ("identify", "Identify issue (errors, performance, bugs)"),
    ("logs", "Check logs and metrics"),
    ("decide", "Decide: rollback vs hotfix"),
    ("execute", "Execute rollback command"),
    ("verify", "Verify health endpoints"),
    ("monitor", "Monitor for 15 minutes"),
    ("notify", "Notify team via Slack"),
    ("postmortem", "Create postmortem issue"),
)


def folder(root: Path = PROJECT_ROOT) -> Path:
    return state_dir(root) / "postmortems"


def _get(item: Any, key: str, default: Any = None) -> Any:
    if isinstance(item, Mapping):
        return item.get(key, default)
    return getattr(item, key, default)


def _release(value: Release | Mapping[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {}
    return value.to_dict() if isinstance(value, Release) else dict(value)


def _cell(value: Any) -> str:
    return str(value if value not in (None, "") else "–").replace("|", "\\|").replace("\n", " ")


def _timeline(entries: Iterable[Any]) -> str:
    rows = []
    for entry in sorted(entries, key=lambda e: (str(_get(e, "when", "")), str(_get(e, "id", "")))):
        phases = _get(entry, "phases") or {}
        took = f"{sum(phases.values()):.1f} s" if phases else ""
        why = _get(entry, "reason") or "; ".join(_get(entry, "notes") or [])
        rows.append(
            [
                _cell(_get(entry, "when")),
                _cell(_get(entry, "action")),
                _cell(_get(entry, "result")),
                _cell((_get(entry, "release") or {}).get("version")),
                _cell(_get(entry, "who")),
                _cell(took),
                _cell(why),
            ]
        )
    if not rows:
        return "_No ledger entries were given._"
    return markdown_table(["When", "Action", "Result", "Version", "Who", "Took", "Why"], rows)


def _metrics(metrics: Mapping[str, Any]) -> str:
    if not metrics:
        return "_No metrics were measured._"
    scalars = [
        [_cell(k), _cell(v)]
        for k, v in metrics.items()
        if not isinstance(v, Mapping | list | tuple)
    ]
    parts = [markdown_table(["Metric", "Value"], scalars)] if scalars else []
    for key, value in metrics.items():
        if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
            parts.append(f"**{key}**\n\n" + "\n".join(f"- {v}" for v in value))
        elif isinstance(value, Mapping) and value:
            rows = [[_cell(k), _cell(v)] for k, v in value.items()]
            parts.append(f"**{key}**\n\n" + markdown_table(["", "Value"], rows))
    samples = metrics.get("samples") or []
    if samples and all(isinstance(s, Mapping) for s in samples):
        rows = []
        for sample in samples:
            window = sample.get("window") or {}
            rows.append(
                [
                    _cell(sample.get("elapsed")),
                    _cell(window.get("requests")),
                    _cell(window.get("error_rate")),
                    _cell(window.get("p95_ms")),
                    _cell(sample.get("error")),
                ]
            )
        parts.append(
            "**Watch samples** (cumulative since the switch)\n\n"
            + markdown_table(["Elapsed s", "Requests", "Error rate", "p95 ms", "Problem"], rows)
        )
    return "\n\n".join(parts)


def render(
    environment: str,
    failed: Release | Mapping[str, Any],
    *,
    restored: Release | Mapping[str, Any] | None = None,
    entries: Iterable[Any] = (),
    metrics: Mapping[str, Any] | None = None,
    reason: str = "",
    done: Iterable[str] = (),
    now: datetime | None = None,
) -> str:
    """The Markdown text (unredacted; :func:`write_postmortem` redacts as it writes)."""
    bad, good = _release(failed), _release(restored)
    ticked = set(done)
    moment = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    boxes = "\n".join(
        f"- [{'x' if key in ticked or text in ticked else ' '}] {text}" for key, text in CHECKLIST
    )
    restored_line = (
        f"`{good.get('version')}` (`{good.get('image', '')}`)"
        if good
        else "nothing (a human is needed)"
    )
    failed_line = (
        f"`{bad.get('version', '?')}` (`{bad.get('image', '')}`, commit `{bad.get('git_sha', '')}`)"
    )
    return f"""# Postmortem: {bad.get("version", "?")} rolled back on {environment}

_Skeleton written by shipwright at {moment}. Fill in every TODO._

## Summary

| | |
|---|---|
| Environment | {environment} |
| Rolled back | {failed_line} |
| Serving now | {restored_line} |
| Deployed by | {bad.get("who", "?")} at {bad.get("when", "?")} |
| Why | {_cell(reason)} |

## Impact

TODO: who was affected, for how long, and how badly (errors, latency, data).

## Timeline

{_timeline(entries)}

## Metrics

{_metrics(metrics or {})}

## Root cause

TODO: what in `{bad.get("version", "?")}` caused this (breaking API change, database
query, external service, configuration ...)?

## Rollback checklist

{boxes}

## Action items

- [ ] TODO: the fix, and the test that would have caught it before production
"""


def _name(environment: str, version: str, now: datetime) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{environment}-{version}").strip("-")
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{safe or 'release'}"


def write_postmortem(
    environment: str,
    failed: Release | Mapping[str, Any],
    *,
    root: Path = PROJECT_ROOT,
    now: datetime | None = None,
    **details: Any,
) -> Path:
    """Write the skeleton to ``.shipwright/postmortems/<time>-<env>-<version>.md`` (never
    overwriting one) and return its path; ``details`` are :func:`render`'s (restored,
    entries, metrics, reason, done)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    text = render(environment, failed, now=moment, **details)
    target_dir = folder(root)
    target_dir.mkdir(parents=True, exist_ok=True)
    stem = _name(environment, str(_release(failed).get("version", "")), moment)
    path = target_dir / f"{stem}.md"
    counter = 2
    while path.exists():
        path = target_dir / f"{stem}-{counter}.md"
        counter += 1
    path.write_text(REDACTOR.redact(text), encoding="utf-8")
    return path
