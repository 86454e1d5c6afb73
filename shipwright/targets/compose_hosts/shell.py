"""One remote shell per host for the whole run: each command is written to it and its
output read back up to an end marker.

Why: a new SSH session per command costs a channel, a fork and the login shell's
start-up files on the host (hundreds of milliseconds where a profile does real work);
a long-lived ``sh`` reading commands from its stdin costs one round trip per command.
Each command runs in a subshell (``exit`` ends it, not the shell) with stdin from
/dev/null, and prints a marker with a fresh random token and its exit code on stdout
and stderr when it ends. To the Runner it looks like a Fabric connection (``run``,
``sftp``, ``host``, ``port``), so every command still goes through the Runner: echoed,
redacted, timed, planned under --dry-run. Secrets still travel as 0600 files (SFTP).
"""

from __future__ import annotations

import secrets
import select
import threading
import time
from dataclasses import dataclass
from typing import Any

READ = 65536


class CommandTimedOut(Exception):
    """The command did not end in time (the Runner reports it as "timed out")."""


class ShellClosed(Exception):
    """The remote shell went away (the host died or the connection dropped)."""


@dataclass
class Answer:
    """What the Runner reads of a finished command (Fabric's Result has the same)."""

    exited: int
    stdout: str
    stderr: str


class RemoteShell:
    """``probe_after``: seconds without a byte from the host after which a new channel
    is asked for, to tell a long quiet command from a host that died (TCP alone would
    wait for many minutes)."""

    def __init__(self, connection: Any, probe_after: float = 10.0):
        self.connection = connection
        self.probe_after = probe_after
        self._channel: Any = None
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return self.connection.host

    @property
    def port(self) -> int:
        return self.connection.port

    def sftp(self) -> Any:
        return self.connection.sftp()

    def run(
        self,
        command: str,
        *,
        timeout: float | None = None,
        out_stream: Any = None,
        err_stream: Any = None,
        **_: Any,
    ) -> Answer:
        """Run ``command``; its exit code and output (streamed to ``out_stream`` and
        ``err_stream`` line by line as it comes, when given)."""
        with self._lock:
            channel = self._open()
            end = f"@@end-{secrets.token_hex(8)}"
            script = (
                f"( {command}\n) </dev/null; printf '\\n{end} %d\\n' $?; printf '\\n{end}\\n' >&2\n"
            )
            try:
                channel.sendall(script.encode())
                out, err = _Stream(end, out_stream), _Stream(end, err_stream)
                self._read(channel, out, err, timeout, self.probe_after)
            except BaseException:
                self.close()  # a half-read answer would be taken for the next one's
                raise
        code = out.code if out.code is not None else -1
        return Answer(code, out.text, err.text)

    def start(self) -> None:
        """Open the shell now and wait until it answers (its start-up files have run):
        a run starts every host's at once, up front."""
        self.run("true", timeout=60)

    def close(self) -> None:
        if self._channel is not None:
            try:
                self._channel.close()
            except Exception:  # noqa: BLE001 - closing a dead channel may fail
                pass
            self._channel = None

    def _open(self) -> Any:
        channel = self._channel
        if channel is None or channel.closed or channel.exit_status_ready():
            self.close()
            channel = self.connection.transport.open_session()
            channel.exec_command("sh")
            self._channel = channel
        return channel

    @staticmethod
    def _read(
        channel: Any, out: _Stream, err: _Stream, timeout: float | None, probe: float
    ) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        heard = time.monotonic()
        while not (out.done and err.done):
            if channel.recv_ready() or channel.recv_stderr_ready():
                heard = time.monotonic()
            while channel.recv_ready():
                out.feed(channel.recv(READ))
            while channel.recv_stderr_ready():
                err.feed(channel.recv_stderr(READ))
            if out.done and err.done:
                return
            if time.monotonic() - heard > probe:
                _alive(channel.get_transport(), probe)
                heard = time.monotonic()
            pending = channel.recv_ready() or channel.recv_stderr_ready()
            if channel.exit_status_ready() and not pending:
                raise ShellClosed(f"the remote shell ended (exit {channel.recv_exit_status()})")
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise CommandTimedOut(f"no answer within {timeout:g}s")
            select.select([channel], [], [], 1.0 if left is None else min(1.0, left))


def _alive(transport: Any, timeout: float) -> None:
    """Ask the host for a channel (and close it): a dead host cannot answer in time."""
    try:
        transport.open_session(timeout=timeout).close()
    except Exception as exc:  # noqa: BLE001 - SSHException, EOFError, socket errors
        raise ShellClosed(f"the host stopped answering ({type(exc).__name__}: {exc})") from None


class _Stream:
    """One side (stdout or stderr) of one command's answer, up to its end marker."""

    def __init__(self, end: str, sink: Any):
        self.end, self.sink = end.encode(), sink
        self.buffer = bytearray()
        self.shown = 0  # bytes of buffer already written to the sink
        self.done = False
        self.code: int | None = None
        self.text = ""

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            raise ShellClosed("the connection closed mid-answer")
        self.buffer += chunk
        at = self.buffer.find(b"\n" + self.end)
        if at < 0:
            self._show(self.buffer.rfind(b"\n", self.shown, len(self.buffer) - len(self.end)) + 1)
            return
        tail = bytes(self.buffer[at + 1 + len(self.end) :])
        if b"\n" not in tail:
            return  # the marker's line is not complete yet
        self._show(at)
        self.done = True
        self.text = bytes(self.buffer[:at]).decode("utf-8", "replace")
        word = tail.split(b"\n", 1)[0].strip()
        self.code = int(word) if word.lstrip(b"-").isdigit() else None

    def _show(self, upto: int) -> None:
        """Write whole lines up to ``upto`` to the sink (a marker may still be arriving)."""
        if self.sink is not None and upto > self.shown:
            self.sink.write(bytes(self.buffer[self.shown : upto]).decode("utf-8", "replace"))
            self.shown = upto
