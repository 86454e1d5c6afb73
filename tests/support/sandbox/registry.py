"""A local Docker registry (distribution v2, `docker-registry serve`).

Why: no public registry is reachable, and deploy code must push and pull real
images.  One process on 127.0.0.1 takes pushes from the main engine (loopback
is an insecure registry by default); `add_listener()` starts a second process
over the *same storage* on another address -- e.g. the root side of the
sandbox bridge -- so that engines inside network namespaces can pull.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path

from ._proc import (
    SandboxError,
    free_port,
    http_status,
    make_work_dir,
    start_process,
    stop_process,
    wait_until,
)

__all__ = ["Registry"]

_CONFIG = """\
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {addr}
  secret: {secret}
"""


class Registry:
    """`with Registry() as reg: reg.addr  # "127.0.0.1:PORT"`.

    `storage` defaults to a directory inside the work dir; pass one to share
    or keep images.  Idempotent start/stop.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        storage: str | Path | None = None,
        work_dir: str | Path | None = None,
        timeout: float = 20,
    ):
        self.port = port
        self.timeout = timeout
        self._own_dir = work_dir is None
        self.work_dir = Path(work_dir) if work_dir else None
        self.storage = Path(storage) if storage else None
        self._own_storage = storage is None
        self._secret = secrets.token_hex(16)
        self._procs: dict[str, tuple[subprocess.Popen, Path]] = {}  # addr -> (proc, log)

    @property
    def addr(self) -> str:
        """host:port of the 127.0.0.1 listener (where the main engine pushes)."""
        if self.port is None:
            raise SandboxError("registry not started")
        return f"127.0.0.1:{self.port}"

    @property
    def listeners(self) -> list[str]:
        return list(self._procs)

    def start(self) -> Registry:
        running = self._procs.get(f"127.0.0.1:{self.port}")
        if running and running[0].poll() is None:
            return self
        if self.work_dir is None:
            self.work_dir = make_work_dir("registry")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if self.storage is None:
            self.storage = self.work_dir / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        if self.port is None:
            self.port = free_port()
        try:
            self._spawn("127.0.0.1", self.port)
        except BaseException:
            self.stop()
            raise
        return self

    def add_listener(self, host: str, port: int | None = None) -> str:
        """Serve the same storage on host:port too (a second process); returns "host:port"."""
        if self.storage is None:
            raise SandboxError("start the registry before adding listeners")
        port = port or free_port(host)
        return self._spawn(host, port)

    def remove_listener(self, addr: str) -> None:
        proc_log = self._procs.pop(addr, None)
        if proc_log:
            stop_process(proc_log[0], timeout=5)

    def _spawn(self, host: str, port: int) -> str:
        addr = f"{host}:{port}"
        if addr in self._procs and self._procs[addr][0].poll() is None:
            return addr
        assert self.work_dir is not None
        name = addr.replace(":", "_")
        conf = self.work_dir / f"config-{name}.yml"
        conf.write_text(_CONFIG.format(root=self.storage, addr=addr, secret=self._secret))
        log = self.work_dir / f"registry-{name}.log"
        proc = start_process(["docker-registry", "serve", str(conf)], log)
        self._procs[addr] = (proc, log)
        try:
            wait_until(
                lambda: http_status(f"http://{addr}/v2/", timeout=1) == 200,
                timeout=self.timeout,
                what=f"registry on {addr}",
                log=log,
                proc=proc,
            )
        except BaseException:
            self.remove_listener(addr)
            raise
        return addr

    def stop(self) -> None:
        for addr in reversed(list(self._procs)):
            self.remove_listener(addr)
        if self._own_dir and self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir = None
        if self._own_storage:
            self.storage = None

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
