"""The world of the App Runner and ECS Express tests: the local AWS endpoint (moto
server) for what it implements -- the S3 lock and ledger, the app's secrets in SSM,
CloudWatch Logs -- and a small app on 127.0.0.1 that answers the health paths and the
smoke case, so the flow's verify runs real HTTP. App Runner and Express Mode themselves
are not in moto: the tests drive them with Stubber sequences (tests/apprunner/).

Shared by tests/apprunner, the conformance harnesses and the canary test.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from shipwright import PROJECT_ROOT
from shipwright.domain import Release
from shipwright.settings import load_settings
from shipwright.settings.schema import schema_for
from support.sandbox import MotoServer

ACCOUNT = "123456789012"
REGION = "us-east-1"
APP = "learinal-backend"
BUCKET = "shipwright-runner-state"
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{APP}"
SERVICE_NAME = f"{APP}-staging"
SERVICE_ID = "8fe1e10304f84fd2b0df550fe98a71fa"
SERVICE_ARN = f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/{SERVICE_NAME}/{SERVICE_ID}"
SECRET_PATH = "/learinal/staging/"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/"


def digest(tag: str) -> str:
    return "sha256:" + hashlib.sha256(tag.encode()).hexdigest()


def release(tag: str, environment: str = "staging") -> Release:
    return Release(environment, tag, f"{ECR}:{tag}@{digest(tag)}", git_sha="0" * 40)


def pinned(tag: str) -> str:
    """The image as App Runner and ECS hold it: repository@digest."""
    return f"{ECR}@{digest(tag)}"


def secret_arn(name: str) -> str:
    return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{SECRET_PATH}{name}"


class _Health(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = json.dumps({"status": "ok"}, separators=(",", ":")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


class LocalApp:
    """``{"status":"ok"}`` on every path of 127.0.0.1:PORT (what serves, for verify)."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class RunnerWorld:
    moto: MotoServer
    app: LocalApp
    smoke_file: Path
    environment: str = "staging"

    def client(self, name: str):
        import boto3

        env = self.moto.env()
        return boto3.client(
            name,
            endpoint_url=self.moto.url,
            region_name=REGION,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    def overrides(self, target: str, **extra: str) -> dict[str, str]:
        return {
            "DEPLOY_TARGET": target,
            "AWS_ENDPOINT_URL": self.moto.url,
            "AWS_REGION": REGION,
            "AWS_STATE_BUCKET": BUCKET,
            "AWS_SECRET_FROM": secret_arn("{name}"),
            "APPRUNNER_SERVICE": SERVICE_ARN,
            "APPRUNNER_POLL_SECONDS": "10",
            "APPRUNNER_DEPLOY_TIMEOUT": "600",
            "EXPRESS_EXECUTION_ROLE_ARN": ROLE + "ecsTaskExecutionRole",
            "EXPRESS_INFRASTRUCTURE_ROLE_ARN": ROLE + "ecsInfrastructureRoleForExpressServices",
            "EXPRESS_POLL_SECONDS": "10",
            "EXPRESS_DEPLOY_TIMEOUT": "600",
            "EXPRESS_ROLLBACK_TIMEOUT": "600",
            "APP_URL": self.app.url,
            "SMOKE_FILE": str(self.smoke_file),
            "HEALTH_DEADLINE": "5",
            **extra,
        }

    def settings(self, target: str = "apprunner", **extra: str):
        return load_settings(
            self.environment, overrides=self.overrides(target, **extra), environ=self.moto.env()
        )

    def build(self) -> RunnerWorld:
        """From an empty endpoint: the state bucket, the secrets, the log groups."""
        self.moto.reset()
        self.client("s3").create_bucket(Bucket=BUCKET)
        ssm = self.client("ssm")
        for name, var in schema_for(PROJECT_ROOT).variables.items():
            if var.secret and var.ship:
                ssm.put_parameter(
                    Name=f"{SECRET_PATH}{name}", Value=f"in-ssm-{name.lower()}", Type="SecureString"
                )
        return self

    def write_logs(self, group: str, stream: str, lines: list[str]) -> None:
        logs = self.client("logs")
        try:
            logs.create_log_group(logGroupName=group)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": now + i, "message": line} for i, line in enumerate(lines)],
        )


def smoke_suite(folder: Path) -> Path:
    """One read-only case the local app answers (the project's smoke.yml needs the app)."""
    path = folder / "smoke.yml"
    path.write_text(
        "cases:\n  - name: health\n    path: /health\n    status: 200\n"
        '    contains: \'"status":"ok"\'\n'
    )
    return path
