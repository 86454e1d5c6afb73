"""What every task shares: settings from --env/--set, error-to-exit-code mapping.

Kept apart from tasks/ so the collections stay a few lines each and nox sessions or
tests can drive the same code without Invoke's parser.
"""

from __future__ import annotations

import functools
import os
import select
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from shipwright.errors import ExitCode, ShipwrightError
from shipwright.extras import missing_extra
from shipwright.redact import REDACTOR, install_stream_redaction
from shipwright.runner import Runner
from shipwright.settings import Settings, load_settings, parse_assignments

#: Help for the flags many tasks share; a task module adds or overrides its own.
FLAGS = {
    "env": "environment name (development, test, staging, production, …)",
    "set": "override KEY=VALUE (repeatable)",
    "json": "machine-readable output",
    "dry-run": "print the plan and change nothing",
    "version": "version to deploy, from invoke image.push (default: the branch's newest push)",
    "reason": "why: kept in the lock and the ledger",
    "lock-wait": "seconds to wait for another deploy's lock (default: refuse at once)",
    "break-lock": "remove a stale lock first (recorded in the ledger)",
    "to": "version to roll back to (default: the ledger's last good release)",
    "limit": "how many ledger entries",
    "follow": "keep streaming until Ctrl-C",
    "since": "only logs since (e.g. 10m)",
    "volumes": "also remove the stack's volumes",
}


def flag_help(*names: str, own: dict[str, str] | None = None) -> dict[str, str]:
    """Invoke ``help=`` for these flags: the module's own wording first, then FLAGS."""
    table = FLAGS | (own or {})
    return {name: table[name] for name in names}


def require_env(env: str | None) -> str:
    """--env is a flag, not a positional (so ``invoke TASK --help`` prints help), and
    the tasks that deploy have no default environment."""
    if not env:
        from shipwright.errors import ConfigError

        raise ConfigError("name the environment: --env staging (or development, production, …)")
    return env


def count_flag(flag: str, value: Any) -> int | None:
    """A flag that counts (--steps, --batch): a whole number ≥ 1, or None when not given."""
    if value is None:
        return None
    if not str(value).isdigit() or int(value) < 1:
        from shipwright.errors import ConfigError

        raise ConfigError(f"--{flag} must be a whole number ≥ 1, not {value!r}")
    return int(value)


def remainder(argv: Sequence[str] | None = None) -> list[str]:
    """What followed ``--`` on the command line, word for word (Invoke keeps it only
    as one joined string)."""
    argv = list(sys.argv if argv is None else argv)
    return argv[argv.index("--") + 1 :] if "--" in argv else []


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
        except ModuleNotFoundError as exc:
            error = missing_extra(exc)
            if error is None:
                raise
            raise Exit(f"✘ {error}", code=int(error.exit_code)) from None

    return wrapper


def quiet_broken_pipe() -> None:
    """``invoke --list | head``: when the reader goes away, end quietly as Unix tools do,
    without a traceback. (Not SIGPIPE's default action: that would also kill a deploy
    whose remote shell closed its end, before the ledger records what happened.)"""
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if issubclass(kind, BrokenPipeError) and _reader_gone(STDOUT):
            # stdout's final flush at exit must not fail a second time
            os.dup2(os.open(os.devnull, os.O_WRONLY), STDOUT)
            return
        previous(kind, value, tb)

    sys.excepthook = hook


STDOUT = 1


def _reader_gone(fd: int) -> bool:
    """Whether ``fd`` is a pipe whose reader closed (any other broken pipe is a real error)."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))
