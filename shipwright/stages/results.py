"""Stage results: collected per stage, printed as ✔/✘, recorded per commit.

The deploy gates read the record: a version may only deploy when its commit's CI
stages passed and its audit found nothing critical.
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
    """Add this stage's result to the commit's CI record."""
    path = record_dir(root) / f"{sha}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {"sha": sha, "stages": {}}
    data["stages"][result.stage] = {
        "ok": result.ok,
        "when": now_iso(),
        "steps": [asdict(s) for s in result.steps],
    }
    path.write_text(json.dumps(redact_obj(data), indent=2, sort_keys=True))
    return path


def load_record(sha: str, root: Path = PROJECT_ROOT) -> dict:
    path = record_dir(root) / f"{sha}.json"
    return json.loads(path.read_text()) if path.exists() else {"sha": sha, "stages": {}}
