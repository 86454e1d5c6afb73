"""The one command runner: every external command, local or over SSH, goes through it.

It echoes the redacted command, streams and captures redacted output, times the run,
and raises a CommandError naming the command, its exit code and the tail of its
output. In dry-run mode it prints the plan -- each command, and each API call that
would change something -- and runs none of it. Secrets reach commands through
environment dicts (local) or 0600 files (remote), never through the command line.
"""

from __future__ import annotations

import io
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from shipwright.errors import CommandError
from shipwright.output import say
from shipwright.redact import REDACTOR, RedactingStream

T = TypeVar("T")
TAIL_LINES = 20


@dataclass
class Result:
    command: str
    exit_code: int
    stdout: str
    stderr: str
    duration: float
    where: str = "local"

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def as_command(cmd: str | Sequence[str]) -> str:
    return cmd if isinstance(cmd, str) else shlex.join(cmd)


class _Tee(io.TextIOBase):
    """Streams output live (redacted, prefixed with the host) while it is captured."""

    def __init__(self, prefix: str, target: Any):
        self._stream = RedactingStream(target, REDACTOR)
        self._prefix = prefix
        self._at_line_start = True

    def write(self, text: str) -> int:
        if self._prefix:
            out = []
            for chunk in text.splitlines(keepends=True):
                out.append((self._prefix if self._at_line_start else "") + chunk)
                self._at_line_start = chunk.endswith("\n")
            text = "".join(out)
        self._stream.write(text)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


@dataclass
class Runner:
    dry_run: bool = False
    echo: bool = True
    plan: list[str] = field(default_factory=list)

    # -- local -------------------------------------------------------------------
    def local(
        self,
        cmd: str | Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        check: bool = True,
        quiet: bool = False,
        timeout: float | None = None,
        changes: bool = True,
    ) -> Result:
        """Run a local command. ``changes=False`` marks a read-only command that also
        runs in dry-run mode (the plan needs to read state to be right)."""
        from invoke import Context

        command = as_command(cmd)
        if self._skip(command, "local", changes):
            return Result(command, 0, "", "", 0.0)
        if cwd:
            command_line = f"cd {shlex.quote(str(cwd))} && {command}"
        else:
            command_line = command
        kwargs: dict[str, Any] = {
            "warn": True,
            "env": dict(env or {}),
            "timeout": timeout,
            "in_stream": False,
        }
        return self._execute(Context().run, command, command_line, "local", quiet, check, kwargs)

    # -- remote ------------------------------------------------------------------
    def remote(
        self,
        connection: Any,
        cmd: str | Sequence[str],
        *,
        check: bool = True,
        quiet: bool = False,
        timeout: float | None = None,
        changes: bool = True,
    ) -> Result:
        """Run a command on a Fabric connection. No env dict: Fabric would inline it
        into the command line, so secrets travel as files (:meth:`put_secret_file`)."""
        command = as_command(cmd)
        where = _host_of(connection)
        if self._skip(command, where, changes):
            return Result(command, 0, "", "", 0.0, where)
        kwargs: dict[str, Any] = {"warn": True, "timeout": timeout, "in_stream": False}
        return self._execute(connection.run, command, command, where, quiet, check, kwargs)

    def put_secret_file(self, connection: Any, content: str, remote_path: str) -> None:
        """Write ``content`` to a 0600 file on the host: chmod before any byte is written."""
        where = _host_of(connection)
        if self._skip(f"upload {len(content)} bytes to {remote_path} (mode 0600)", where, True):
            return
        sftp = connection.sftp()
        handle = sftp.open(remote_path, "w")
        try:
            sftp.chmod(remote_path, 0o600)
            handle.write(content.encode())
        finally:
            handle.close()

    # -- API calls -----------------------------------------------------------------
    def api(self, description: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """A state-changing API call (boto3, docker SDK, HTTP): planned in dry-run mode."""
        if self._skip(description, "api", True):
            return None
        if self.echo:
            say(f"→ {description}")
        return call(*args, **kwargs)

    # -- internals -----------------------------------------------------------------
    def _skip(self, what: str, where: str, changes: bool) -> bool:
        if not (self.dry_run and changes):
            return False
        line = f"[{where}] {what}"
        self.plan.append(REDACTOR.redact(line))
        say(f"would run {line}")
        return True

    def _execute(self, run, command, command_line, where, quiet, check, kwargs) -> Result:
        prefix = "" if where == "local" else f"[{where}] "
        if self.echo and not quiet:
            say(f"{prefix}$ {command}")
        if quiet:
            kwargs["hide"] = True
        else:
            kwargs["out_stream"] = _Tee(prefix, sys.stdout)
            kwargs["err_stream"] = _Tee(prefix, sys.stderr)
        started = time.monotonic()
        try:
            raw = run(command_line, **kwargs)
        except Exception as exc:  # connection refused, timeout, missing shell ...
            if type(exc).__name__ == "CommandTimedOut":
                raise CommandError(REDACTOR.redact(command), -1, "timed out", where) from None
            raise CommandError(
                REDACTOR.redact(command), -1, REDACTOR.redact(f"{type(exc).__name__}: {exc}"), where
            ) from None
        finally:
            for key in ("out_stream", "err_stream"):
                if key in kwargs:
                    kwargs[key].flush()
        result = Result(
            command,
            raw.exited,
            REDACTOR.redact(raw.stdout),
            REDACTOR.redact(raw.stderr),
            time.monotonic() - started,
            where,
        )
        if check and not result.ok:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-TAIL_LINES:])
            raise CommandError(REDACTOR.redact(command), result.exit_code, tail, where)
        return result


def _host_of(connection: Any) -> str:
    host = getattr(connection, "host", "remote")
    port = getattr(connection, "port", 22)
    return host if port == 22 else f"{host}:{port}"
