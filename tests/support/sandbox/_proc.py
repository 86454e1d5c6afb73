"""Process helpers the test harness adds to :mod:`shipwright.machine.process`: free
ports, work folders, and :class:`ProcessService` (one server process on 127.0.0.1).

Why: every component (registry, nginx, redis, moto, sshd) is a real process started the
same way -- own process group, output to a log file in a work dir, readiness polled
with a bounded timeout -- and every failure must say *why* by quoting that log's tail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from shipwright import httpcall
from shipwright.machine.process import (
    MachineError,
    descendants,
    file_lock,
    log_tail,
    pid_alive,
    run,
    stop_process,
    tcp_answers,
    wait_until,
)

__all__ = [
    "SandboxError",
    "free_port",
    "free_ports",
    "wait_until",
    "log_tail",
    "run",
    "start_process",
    "stop_process",
    "pid_alive",
    "descendants",
    "tcp_answers",
    "http_get",
    "http_status",
    "make_work_dir",
    "file_lock",
]

#: The harness's errors are the machine's (one hierarchy, one message style).
SandboxError = MachineError


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_ports(count: int, host: str = "127.0.0.1", *, besides: int = 0) -> int:
    """The first of ``count`` consecutive TCP ports that are all free on ``host`` right
    now, and not ``besides``: the local target serves on PORT and its colours on PORT+1
    and PORT+2, and a port picked alone may sit right below one handed out next."""
    for _ in range(200):
        base, held = free_port(host), []
        try:
            for port in range(base, base + count):
                if port == besides:
                    raise OSError(f"{port} is taken by the caller")
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                held.append(sock)
                sock.bind((host, port))
            return base
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise SandboxError(f"no {count} consecutive free ports on {host}")


def start_process(
    argv: Sequence[str],
    log_path: str | os.PathLike,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
) -> subprocess.Popen:
    """Start `argv` in its own session/process group, stdout+stderr -> log_path."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        try:
            return subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                env=dict(env) if env is not None else None,
                cwd=cwd,
            )
        except FileNotFoundError as exc:
            raise SandboxError(f"{argv[0]}: not installed (run .ci/setup)") from exc


def http_get(
    url: str, *, timeout: float = 2, method: str = "GET", data: bytes | None = None
) -> tuple[int, bytes, dict]:
    """(status, body, headers) for ``url`` through the project's one HTTP client (never
    via a proxy for loopback); an answer that never came raises OSError."""
    # One connection per request (as the harness's checks always had): a pooled
    # keep-alive connection that nginx closes on reload is not what these tests probe.
    answer = httpcall.request(
        method, url, data=data, timeout=timeout, direct=True, headers={"Connection": "close"}
    )
    if answer.status == 0:
        raise OSError(f"{method} {url}: {answer.error}")
    return answer.status, answer.body.encode(), answer.headers


def http_status(url: str, timeout: float = 2) -> int:
    return http_get(url, timeout=timeout)[0]


class ProcessService:
    """One server process on 127.0.0.1 with a work folder: ``with Service() as s``
    starts it (free port, log in the folder, waits until :meth:`ready`) and always
    stops it, removing the folder when the service made it. Subclasses say what to
    run (:meth:`argv`) and when it answers (:meth:`ready`)."""

    name = "service"

    def __init__(
        self,
        *,
        port: int | None = None,
        work_dir: str | os.PathLike | None = None,
        timeout: float = 10,
    ):
        self.host = "127.0.0.1"
        self.port, self.timeout = port, timeout
        self._own_dir = work_dir is None
        self.work_dir = Path(work_dir) if work_dir else None
        self.proc: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        assert self.work_dir is not None
        return self.work_dir / f"{self.name}.log"

    def argv(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def process_env(self) -> dict[str, str] | None:
        return None

    def start(self):
        if self.proc is not None and self.proc.poll() is None:
            return self
        if self.work_dir is None:
            self.work_dir = make_work_dir(self.name)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.proc = start_process(self.argv(), self.log, env=self.process_env(), cwd=self.work_dir)
        try:
            wait_until(
                self.ready,
                timeout=self.timeout,
                what=f"{self.name} on {self.host}:{self.port}",
                log=self.log,
                proc=self.proc,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=5)
            self.proc = None
        if self._own_dir and self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def make_work_dir(prefix: str, base: str | os.PathLike | None = None) -> Path:
    """A fresh private directory (under $SHIPWRIGHT_SANDBOX_DIR or /tmp)."""
    base = base or os.environ.get("SHIPWRIGHT_SANDBOX_DIR") or None
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"sw-{prefix}-", dir=base))
