"""A local AWS endpoint: moto's server mode on 127.0.0.1.

Why: the AWS deploy paths (ECR, ECS, ELBv2, Logs, Secrets Manager, SSM, STS)
must run against real HTTP, never against AWS.  `env()` gives the variables
that point boto3/awscli at it with dummy credentials; `reset()` clears all
emulated state between tests (POST /moto-api/reset).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ._proc import (
    ProcessService,
    SandboxError,
    free_port,
    http_get,
    make_work_dir,
    start_process,
    wait_until,
)

__all__ = ["MotoServer"]


def _moto_argv() -> list[str]:
    exe = Path(sys.executable).with_name("moto_server")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("moto_server")
    return [found] if found else [sys.executable, "-m", "moto.server"]


class MotoServer(ProcessService):
    """`with MotoServer() as moto: boto3.client("ecs", **...)`, env via `moto.env()`."""

    def __init__(
        self,
        *,
        port: int | None = None,
        region: str = "us-east-1",
        work_dir: str | Path | None = None,
        timeout: float = 30,
        extra_env: dict[str, str] | None = None,
    ):
        self.host = "127.0.0.1"
        self.port, self.region, self.timeout = port, region, timeout
        self.extra_env = dict(extra_env or {})  # e.g. {"MOTO_ECS_SERVICE_RUNNING": "1"}
        self._own_dir = work_dir is None
        self.work_dir = Path(work_dir) if work_dir else None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log(self) -> Path:
        assert self.work_dir is not None
        return self.work_dir / "moto.log"

    def env(self) -> dict[str, str]:
        """Environment for boto3 / the AWS CLI: endpoint, dummy creds, region."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def start(self) -> MotoServer:
        if self.proc is not None and self.proc.poll() is None:
            return self
        if self.work_dir is None:
            self.work_dir = make_work_dir("moto")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        env = {**os.environ, **self.extra_env}
        self.proc = start_process(
            [*_moto_argv(), "-H", self.host, "-p", str(self.port)],
            self.log,
            env=env,
            cwd=self.work_dir,
        )
        try:
            wait_until(
                lambda: http_get(self.url + "/moto-api/data.json", timeout=2)[0] == 200,
                timeout=self.timeout,
                what=f"moto_server on {self.host}:{self.port}",
                log=self.log,
                proc=self.proc,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def reset(self) -> None:
        """Forget every emulated resource."""
        status = http_get(self.url + "/moto-api/reset", method="POST", data=b"", timeout=10)[0]
        if status != 200:
            raise SandboxError(f"moto reset answered HTTP {status}")
