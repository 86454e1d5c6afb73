"""One run of the app's migration runner (``node scripts/run-migration.js NAME ACTION``):
inside the release's image on the target (``Target.run``) or on this machine
(``--local``, in the app folder).

MONGO_URI reaches the runner through its environment only: the target's one-off task
gets the app's variables in its 0600 env file, the local process an environment dict.
The runner also gets the checksum the engine expects and refuses a file that differs
(an image built from other sources), and reports its result on a last line
``MIGRATION-RESULT {json}``.
"""

from __future__ import annotations

import json
import shlex
import signal
from dataclasses import dataclass
from typing import Any, Protocol

from shipwright import PROJECT_ROOT
from shipwright.domain import Release, Run
from shipwright.errors import ShipwrightError
from shipwright.migrate.discovery import Migration
from shipwright.runner import Runner
from shipwright.settings import Settings

RESULT_MARK = "MIGRATION-RESULT "
#: The runner's own exit codes (app/scripts/run-migration.js).
RUNNER_EXITS = {
    2: "bad use of the runner (unknown migration or action, no down())",
    3: "the file in the image differs from the checked-out migration (checksum)",
    4: "the runner could not reach MongoDB",
}
APP_DIR = PROJECT_ROOT / "app"
#: How a runner stopped by Ctrl-C exits (killed by SIGINT, or a shell's 128 + SIGINT).
INTERRUPTED = (-signal.SIGINT, 128 + signal.SIGINT)


class Executor(Protocol):
    where: str

    def run(self, migration: Migration, action: str, env: dict[str, str]) -> Run: ...


@dataclass
class Outcome:
    """What the runner said: ok, its result object, and the tail of its output."""

    ok: bool
    result: dict[str, Any]
    detail: str


def argv(settings: Settings, migration: Migration, action: str) -> list[str]:
    return [*shlex.split(settings["MIGRATE_COMMAND"]), migration.name, action]


class LocalExecutor:
    """On this machine, in the app folder (its node_modules: ``npm ci`` first)."""

    def __init__(self, settings: Settings, runner: Runner):
        self.settings, self.runner = settings, runner
        self.where = "this machine"
        self.folder = str(settings.root / settings["MIGRATIONS_DIR"])

    def run(self, migration: Migration, action: str, env: dict[str, str]) -> Run:
        command = argv(self.settings, migration, action)
        result = self.runner.local(
            command,
            env={"MONGO_URI": self.settings["MONGO_URI"], "MIGRATE_DIR": self.folder, **env},
            cwd=str(APP_DIR),
            check=False,
            timeout=self.settings.number("MIGRATE_TIMEOUT"),
        )
        if result.exit_code in INTERRUPTED:  # Ctrl-C reached the runner too: stop, do not undo
            raise KeyboardInterrupt
        return Run(command, result.exit_code, result.stdout + result.stderr, self.where)


class TargetExecutor:
    """A one-off task in ``release``'s image on the environment's target."""

    def __init__(self, settings: Settings, target: Any, release: Release):
        self.settings, self.target, self.release = settings, target, release
        self.where = f"{release.version} on {target.name}"

    def run(self, migration: Migration, action: str, env: dict[str, str]) -> Run:
        return self.target.run(self.release, argv(self.settings, migration, action), env)


def execute(
    executor: Executor, migration: Migration, action: str, extra: dict[str, str] | None = None
) -> Outcome:
    """Run ``action`` of ``migration``; an Outcome either way (a dry run is ok)."""
    env = {"MIGRATE_CHECKSUM": migration.checksum, **(extra or {})}
    run = executor.run(migration, action, env)
    result: dict[str, Any] = {}
    for line in run.output.splitlines():
        if line.startswith(RESULT_MARK):
            try:
                result = json.loads(line[len(RESULT_MARK) :])
            except json.JSONDecodeError:
                result = {}
    tail = "\n".join(run.output.strip().splitlines()[-15:])
    if run.ok:
        return Outcome(True, result, tail)
    why = RUNNER_EXITS.get(run.exit_code, f"exit {run.exit_code}")
    return Outcome(False, result, f"{why} on {executor.where}" + (f":\n{tail}" if tail else ""))


def require_ok(outcome: Outcome, what: str) -> dict[str, Any]:
    if not outcome.ok:
        raise ShipwrightError(f"{what} failed: {outcome.detail}")
    return outcome.result
