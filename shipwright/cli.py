"""What every task shares: settings from --env/--set, error-to-exit-code mapping.

Kept apart from tasks/ so the collections stay a few lines each and nox sessions or
tests can drive the same code without Invoke's parser.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from shipwright.errors import ExitCode, ShipwrightError
from shipwright.redact import REDACTOR, install_stream_redaction
from shipwright.runner import Runner
from shipwright.settings import Settings, load_settings, parse_assignments


def settings_for(env: str, assignments: Iterable[str] | None = None) -> Settings:
    return load_settings(env, overrides=parse_assignments(assignments or ()))


def runner_for(c: Any, dry_run: bool = False) -> Runner:
    """A runner honouring the task's --dry-run and Invoke's global --dry."""
    global_dry = bool(getattr(getattr(c, "config", None), "run", {}).get("dry", False))
    return Runner(dry_run=dry_run or global_dry)


def reports_errors(task_body: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ShipwrightError into a redacted message and the matching exit code."""
    from invoke.exceptions import Exit

    @functools.wraps(task_body)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        install_stream_redaction()
        try:
            return task_body(*args, **kwargs)
        except ShipwrightError as exc:
            raise Exit(REDACTOR.redact(f"✘ {exc}"), code=int(exc.exit_code)) from None
        except KeyboardInterrupt:
            raise Exit("✘ interrupted", code=int(ExitCode.FAILED)) from None

    return wrapper
