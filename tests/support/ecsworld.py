"""An ECS world on the local AWS endpoint: a moto server (with its UpdateService
corrected, see moto_ecs_primary.py), a VPC, a cluster, a Fargate service running a
bootstrap revision (as infrastructure-as-code leaves it), the state bucket, the log
group and the app's secrets in SSM -- and the settings that point the ECS target at it.

Shared by tests/ecs, the conformance harness, the canary test and the benchmark.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from shipwright import PROJECT_ROOT
from shipwright.domain import Release
from shipwright.settings import load_settings
from shipwright.settings.schema import schema_for
from support.sandbox import MotoServer

LAUNCHER = Path(__file__).with_name("moto_ecs_primary.py")
APP = "learinal-backend"
CLUSTER = "shipwright-test"
BUCKET = "shipwright-test-state"
REGISTRY = "127.0.0.1:5000"
RUNNING = 2
SECRET_PATH = "/learinal/{env}/"


class EcsMoto(MotoServer):
    """moto_server through the launcher, with tasks reported running."""

    def __init__(self, **kw):
        super().__init__(extra_env={"MOTO_ECS_SERVICE_RUNNING": str(RUNNING)}, **kw)

    def argv(self) -> list[str]:
        return [sys.executable, str(LAUNCHER), "-H", self.host, "-p", str(self.port)]


def release(tag: str, environment: str = "staging") -> Release:
    digest = hashlib.sha256(tag.encode()).hexdigest()
    return Release(environment, tag, f"{REGISTRY}/{APP}:{tag}@sha256:{digest}", git_sha="0" * 40)


@dataclass
class EcsWorld:
    moto: MotoServer
    environment: str = "staging"
    service: str = APP
    subnets: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)

    def client(self, name: str):
        import boto3

        env = self.moto.env()
        return boto3.client(
            name,
            endpoint_url=self.moto.url,
            region_name=self.moto.region,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    @property
    def family(self) -> str:
        return f"{APP}-{self.environment}"

    def overrides(self, **extra: str) -> dict[str, str]:
        return {
            "DEPLOY_TARGET": "ecs",
            "AWS_ENDPOINT_URL": self.moto.url,
            "AWS_REGION": self.moto.region,
            "ECS_CLUSTER": CLUSTER,
            "ECS_SERVICE": self.service,
            "AWS_STATE_BUCKET": BUCKET,
            "AWS_SECRET_FROM": self.secret_arn("{name}"),
            "ECS_POLL_SECONDS": "0.05",
            "ECS_DEPLOY_TIMEOUT": "20",
            "ECS_ROLLBACK_TIMEOUT": "20",
            "ECS_RUN_TIMEOUT": "20",
            **extra,
        }

    def settings(self, **extra: str):
        return load_settings(
            self.environment, overrides=self.overrides(**extra), environ=self.moto.env()
        )

    def secret_arn(self, name: str) -> str:
        path = SECRET_PATH.format(env=self.environment).lstrip("/")
        return f"arn:aws:ssm:{self.moto.region}:123456789012:parameter/{path}{name}"

    def cli_env(self) -> dict[str, str]:
        """For ``invoke`` subprocesses: the endpoint's credentials plus the settings."""
        return {**self.moto.env(), **self.overrides()}

    # -- building it ---------------------------------------------------------------------
    def build(self) -> EcsWorld:
        """From an empty endpoint: network, cluster, service, bucket, logs, secrets."""
        self.moto.reset()
        ec2, ecs = self.client("ec2"), self.client("ecs")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        self.subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]]
        group = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)
        self.security_groups = [group["GroupId"]]
        ecs.create_cluster(clusterName=CLUSTER)
        bootstrap = ecs.register_task_definition(
            family=self.family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[{"name": "backend", "image": "bootstrap:0", "memory": 512}],
        )["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(
            cluster=CLUSTER,
            serviceName=self.service,
            taskDefinition=bootstrap,
            desiredCount=RUNNING,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": self.subnets,
                    "securityGroups": self.security_groups,
                    "assignPublicIp": "DISABLED",
                }
            },
            deploymentConfiguration={
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            },
        )
        self.client("s3").create_bucket(Bucket=BUCKET)
        self.client("logs").create_log_group(logGroupName=f"/ecs/{APP}")
        ssm = self.client("ssm")
        for name, var in schema_for(PROJECT_ROOT).variables.items():
            if var.secret and var.ship:
                ssm.put_parameter(
                    Name=f"{SECRET_PATH.format(env=self.environment)}{name}",
                    Value=f"in-ssm-{name.lower()}",
                    Type="SecureString",
                )
        return self

    def write_logs(self, task_id: str, lines: list[str]) -> None:
        """What the awslogs driver would write for the app container of one task."""
        logs, stream = self.client("logs"), f"ecs/backend/{task_id}"
        logs.create_log_stream(logGroupName=f"/ecs/{APP}", logStreamName=stream)
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=f"/ecs/{APP}",
            logStreamName=stream,
            logEvents=[{"timestamp": now + i, "message": line} for i, line in enumerate(lines)],
        )

    def active_revisions(self) -> list[str]:
        got = self.client("ecs").list_task_definitions(familyPrefix=self.family, status="ACTIVE")
        return got["taskDefinitionArns"]


@contextmanager
def aws_environ(moto: MotoServer):
    """The endpoint's dummy credentials in os.environ (boto3's chain reads them there)."""
    saved = {k: os.environ.get(k) for k in moto.env()}
    os.environ.update(moto.env())
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def serving(moto: MotoServer):
    """``moto`` started (the test fails or skips, with the reason, where it cannot be)
    with its credentials in os.environ; stopped afterwards."""
    from helpers import require

    try:
        moto.start()
    except Exception as exc:  # noqa: BLE001 - moto missing: the reason is printed
        require(False, f"the local AWS endpoint (moto) cannot start: {exc}")
    try:
        with aws_environ(moto):
            yield moto
    finally:
        moto.stop()
