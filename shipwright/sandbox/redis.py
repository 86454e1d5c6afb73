"""A throwaway redis-server on 127.0.0.1.

Why: code that caches or queues needs a real Redis in tests; this one has no
persistence (no RDB, no AOF), a free port, and its files in a work dir, so
parallel runs never share state.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from ._proc import ProcessService, free_port, make_work_dir, start_process, wait_until

__all__ = ["Redis", "redis_ping"]


def redis_ping(host: str, port: int, timeout: float = 1) -> bool:
    """True if a Redis server answers PING with PONG (raw RESP, no client library)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        return s.recv(64).startswith(b"+PONG")


class Redis(ProcessService):
    """`with Redis() as r: r.uri  # "redis://127.0.0.1:PORT/0"`."""

    def __init__(
        self, *, port: int | None = None, work_dir: str | Path | None = None, timeout: float = 10
    ):
        self.host = "127.0.0.1"
        self.port = port
        self.timeout = timeout
        self._own_dir = work_dir is None
        self.work_dir = Path(work_dir) if work_dir else None
        self.proc: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def log(self) -> Path:
        assert self.work_dir is not None
        return self.work_dir / "redis.log"

    def start(self) -> Redis:
        if self.proc is not None and self.proc.poll() is None:
            return self
        if self.work_dir is None:
            self.work_dir = make_work_dir("redis")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        argv = [
            "redis-server",
            "--bind",
            self.host,
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.work_dir),
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            "--logfile",
            "",
        ]
        self.proc = start_process(argv, self.log)
        try:
            wait_until(
                lambda: redis_ping(self.host, self.port),
                timeout=self.timeout,
                what=f"redis-server on {self.host}:{self.port}",
                log=self.log,
                proc=self.proc,
            )
        except BaseException:
            self.stop()
            raise
        return self
