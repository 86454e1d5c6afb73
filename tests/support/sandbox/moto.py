"""A local AWS endpoint: moto's server mode on 127.0.0.1.

Why: the AWS deploy paths (ECR, ECS, ELBv2, Logs, Secrets Manager, SSM, STS)
must run against real HTTP, never against AWS.  `env()` gives the variables
that point boto3/awscli at it with dummy credentials; `reset()` clears all
emulated state between tests (POST /moto-api/reset).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from ._proc import ProcessService, SandboxError, http_get

__all__ = ["MotoServer"]


def _moto_argv() -> list[str]:
    exe = Path(sys.executable).with_name("moto_server")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("moto_server")
    return [found] if found else [sys.executable, "-m", "moto.server"]


class MotoServer(ProcessService):
    """`with MotoServer() as moto: boto3.client("ecs", **...)`, env via `moto.env()`."""

    name = "moto"

    def __init__(
        self,
        *,
        port: int | None = None,
        region: str = "us-east-1",
        work_dir: str | Path | None = None,
        timeout: float = 30,
        extra_env: dict[str, str] | None = None,
    ):
        super().__init__(port=port, work_dir=work_dir, timeout=timeout)
        self.region = region
        self.extra_env = dict(extra_env or {})  # e.g. {"MOTO_ECS_SERVICE_RUNNING": "1"}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

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

    def argv(self) -> list[str]:
        return [*_moto_argv(), "-H", self.host, "-p", str(self.port)]

    def process_env(self) -> dict[str, str]:
        return {**os.environ, **self.extra_env}

    def ready(self) -> bool:
        return http_get(self.url + "/moto-api/data.json", timeout=2)[0] == 200

    def reset(self) -> None:
        """Forget every emulated resource."""
        status = http_get(self.url + "/moto-api/reset", method="POST", data=b"", timeout=10)[0]
        if status != 200:
            raise SandboxError(f"moto reset answered HTTP {status}")
