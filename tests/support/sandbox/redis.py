"""A throwaway redis-server on 127.0.0.1.

Why: code that caches or queues needs a real Redis in tests; this one has no
persistence (no RDB, no AOF), a free port, and its files in a work dir, so
parallel runs never share state.
"""

from __future__ import annotations

import socket

from ._proc import ProcessService

__all__ = ["Redis", "redis_ping"]


def redis_ping(host: str, port: int, timeout: float = 1) -> bool:
    """True if a Redis server answers PING with PONG (raw RESP, no client library)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        return s.recv(64).startswith(b"+PONG")


class Redis(ProcessService):
    """`with Redis() as r: r.uri  # "redis://127.0.0.1:PORT/0"`."""

    name = "redis"

    @property
    def uri(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def argv(self) -> list[str]:
        return [
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

    def ready(self) -> bool:
        return redis_ping(self.host, self.port)
