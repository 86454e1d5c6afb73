"""Stage results: collected per stage, printed as ✔/✘, recorded per commit and stage.

The deploy gates read the record: a version may only deploy when its commit's CI
stages passed and its audit found nothing critical. Each stage writes its own file,
``<state>/ci/<sha>/<stage>.json``: CI runs the stages in separate jobs, and when their
artifacts are downloaded into one folder (``merge-multiple``) every stage's file
survives -- one shared file per commit would keep only the last job's.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from shipwright import PROJECT_ROOT
from shipwright.domain import now_iso
from shipwright.errors import ShipwrightError
from shipwright.output import status
from shipwright.redact import redact_obj
from shipwright.state import state_dir


@dataclass
class StepResult:
    name: str
    ok: bool | None  # None: skipped, or could not run (never counted as passing)
    detail: str = ""


@dataclass
class StageResult:
    stage: str
    steps: list[StepResult] = field(default_factory=list)

    def add(self, name: str, ok: bool | None, detail: str = "") -> None:
        self.steps.append(StepResult(name, ok, detail))
        status(ok, f"{self.stage}: {name}" + (f" — {detail}" if detail else ""))

    @property
    def ok(self) -> bool:
        return all(step.ok is not False for step in self.steps)

    def raise_if_failed(self) -> None:
        failed = [s.name for s in self.steps if s.ok is False]
        if failed:
            raise ShipwrightError(f"{self.stage} failed: {', '.join(failed)}")


def record_dir(root: Path = PROJECT_ROOT) -> Path:
    return state_dir(root) / "ci"


def record(result: StageResult, sha: str, root: Path = PROJECT_ROOT) -> Path:
    """Write this stage's result for the commit (replacing an earlier run of it)."""
    path = record_dir(root) / sha / f"{result.stage}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "sha": sha,
        "stage": result.stage,
        "ok": result.ok,
        "when": now_iso(),
        "steps": [asdict(s) for s in result.steps],
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(redact_obj(data), indent=2, sort_keys=True))
    tmp.replace(path)
    return path


def load_record(sha: str, root: Path = PROJECT_ROOT) -> dict:
    """Every recorded stage of the commit: ``{"sha", "stages": {stage: result}}``."""
    stages: dict[str, dict] = {}
    folder = record_dir(root) / sha
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("stage") == path.stem:
            stages[path.stem] = {k: data[k] for k in ("ok", "when", "steps") if k in data}
    return {"sha": sha, "stages": stages}
