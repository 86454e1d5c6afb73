"""The Docker engine as a context manager, for tests that start and stop their own."""

from __future__ import annotations

import os

from shipwright.machine.dockerd import DEFAULT_HOST, engine_answers, ensure_engine, stop_engine


class Engine:
    """Context-manager form: `with Engine() as docker_host: ...`.

    By default the engine persists after the block (`persist=True`); with
    `persist=False` an engine that *this block* started is stopped again.
    """

    def __init__(
        self, docker_host: str | None = None, *, persist: bool = True, timeout: float = 60
    ):
        self.requested = docker_host
        self.persist = persist
        self.timeout = timeout
        self.docker_host: str | None = None
        self.started = False

    def start(self) -> str:
        if self.docker_host is None:
            host = self.requested or os.environ.get("DOCKER_HOST") or DEFAULT_HOST
            self.started = not engine_answers(host)
            self.docker_host = ensure_engine(host, timeout=self.timeout)
        return self.docker_host

    def stop(self) -> None:
        if self.started and not self.persist:
            stop_engine()
        self.started = False
        self.docker_host = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
