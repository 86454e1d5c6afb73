"""Exceptions that carry the exit code the CLI should end with.

Exit codes (docs/architecture.md): 0 done; 1 failed, nothing changed or already
restored; 2 bad input or configuration (nothing ran); 3 deploy failed and the
previous release is serving again; 4 deploy failed and could not be restored.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    RESTORED = 3
    BROKEN = 4


class ShipwrightError(Exception):
    """Base error: its message is what the user reads; its code is the exit code."""

    #: An ExitCode; a one-off command's own exit code passes through as a plain int.
    exit_code: int = ExitCode.FAILED

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(ShipwrightError):
    """Bad input or configuration: detected before anything ran."""

    exit_code = ExitCode.BAD_INPUT


class CommandError(ShipwrightError):
    """An external command exited non-zero."""

    def __init__(self, command: str, code: int, tail: str, where: str = "local"):
        self.command, self.code, self.tail, self.where = command, code, tail, where
        msg = f"command failed on {where} (exit {code}): {command}"
        if tail.strip():
            msg += "\n--- last output ---\n" + tail.rstrip()
        super().__init__(msg)
