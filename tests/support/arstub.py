"""App Runner answers in AWS's documented shapes (API reference: DescribeService,
UpdateService, StartDeployment, ListOperations, ListServices,
DescribeAutoScalingConfiguration, DescribeVpcConnector, DescribeCustomDomains), queued
on a botocore Stubber, which checks every request and every canned response against
App Runner's service model. The local endpoint has no App Runner at all."""

from __future__ import annotations

from datetime import UTC, datetime

from support.runnerworld import (
    ACCOUNT,
    REGION,
    SERVICE_ARN,
    SERVICE_ID,
    SERVICE_NAME,
    pinned,
    secret_arn,
)
from support.scripted import ScriptedClient

NOW = datetime(2026, 3, 1, tzinfo=UTC)
URL = f"x7k2pq9mzr.{REGION}.awsapprunner.com"
SCALING_ARN = (
    f"arn:aws:apprunner:{REGION}:{ACCOUNT}:autoscalingconfiguration/learinal/3/"
    "0f6b6a2dd9d84e40a9d1c4dbe8b1f7a1"
)
CONNECTOR_ARN = (
    f"arn:aws:apprunner:{REGION}:{ACCOUNT}:vpcconnector/learinal-db/1/"
    "4f1c3b2a9e8d4c7b8a6f5e4d3c2b1a09"
)


def op_id(n: int) -> str:
    return f"{n:08d}-6c1a-4e0e-9a5b-2f0d3c4b5a69"


def service_shape(
    tag: str | None = "v1",
    *,
    status: str = "RUNNING",
    source: bool = False,
    from_repository: bool = True,
    vpc: bool = False,
    variables: dict | None = None,
    by_tag: bool = False,
) -> dict:
    plain = {"NODE_ENV": "production", "LOG_LEVEL": "info", **(variables or {})}
    if tag:
        plain["APP_VERSION"] = tag
    secrets = {"MONGO_URI": secret_arn("MONGO_URI"), "JWT_SECRET": secret_arn("JWT_SECRET")}
    runtime = {
        "RuntimeEnvironmentVariables": plain,
        "RuntimeEnvironmentSecrets": secrets,
        "Port": "3000",
    }
    if source:
        code = {"ConfigurationSource": "REPOSITORY" if from_repository else "API"}
        if not from_repository:
            code["CodeConfigurationValues"] = {"Runtime": "NODEJS_18", **runtime}
        configuration = {
            "CodeRepository": {
                "RepositoryUrl": "https://github.com/learinal/learinal-backend",
                "SourceCodeVersion": {"Type": "BRANCH", "Value": "main"},
                "CodeConfiguration": code,
            },
            "AutoDeploymentsEnabled": False,
            "AuthenticationConfiguration": {
                "ConnectionArn": f"arn:aws:apprunner:{REGION}:{ACCOUNT}:connection/gh/abc"
            },
        }
    else:
        image = pinned(tag or "v1")
        if by_tag:
            image = image.split("@")[0] + f":{tag}"
        configuration = {
            "ImageRepository": {
                "ImageIdentifier": image,
                "ImageConfiguration": runtime,
                "ImageRepositoryType": "ECR",
            },
            "AutoDeploymentsEnabled": False,
            "AuthenticationConfiguration": {
                "AccessRoleArn": f"arn:aws:iam::{ACCOUNT}:role/AppRunnerECRAccessRole"
            },
        }
    egress = {"EgressType": "DEFAULT"}
    if vpc:
        egress = {"EgressType": "VPC", "VpcConnectorArn": CONNECTOR_ARN}
    return {
        "ServiceName": SERVICE_NAME,
        "ServiceId": SERVICE_ID,
        "ServiceArn": SERVICE_ARN,
        "ServiceUrl": URL,
        "CreatedAt": NOW,
        "UpdatedAt": NOW,
        "Status": status,
        "SourceConfiguration": configuration,
        "InstanceConfiguration": {
            "Cpu": "1024",
            "Memory": "2048",
            "InstanceRoleArn": f"arn:aws:iam::{ACCOUNT}:role/learinal-backend-instance",
        },
        "HealthCheckConfiguration": {
            "Protocol": "HTTP",
            "Path": "/health",
            "Interval": 10,
            "Timeout": 5,
            "HealthyThreshold": 1,
            "UnhealthyThreshold": 5,
        },
        "AutoScalingConfigurationSummary": {
            "AutoScalingConfigurationArn": SCALING_ARN,
            "AutoScalingConfigurationName": "learinal",
            "AutoScalingConfigurationRevision": 3,
            "Status": "ACTIVE",
            "CreatedAt": NOW,
            "HasAssociatedService": True,
            "IsDefault": False,
        },
        "NetworkConfiguration": {
            "EgressConfiguration": egress,
            "IngressConfiguration": {"IsPubliclyAccessible": True},
            "IpAddressType": "IPV4",
        },
        "ObservabilityConfiguration": {"ObservabilityEnabled": False},
    }


class AppRunnerScript(ScriptedClient):
    """``script.describe(...)``, ``script.update(...)`` …: the next answers, in order.
    ``requests`` records every call's parameters (to look inside UpdateService)."""

    aws_service = "apprunner"

    # -- the service -------------------------------------------------------------------
    def describe(self, tag: str | None = "v1", **kw) -> None:
        self.stub.add_response(
            "describe_service",
            {"Service": service_shape(tag, **kw)},
            {"ServiceArn": SERVICE_ARN},
        )

    def services(self, *names: str) -> None:
        summaries = [
            {
                "ServiceName": name,
                "ServiceId": SERVICE_ID,
                "ServiceArn": SERVICE_ARN.replace(SERVICE_NAME, name),
                "ServiceUrl": URL,
                "CreatedAt": NOW,
                "UpdatedAt": NOW,
                "Status": "RUNNING",
            }
            for name in names
        ]
        self.stub.add_response("list_services", {"ServiceSummaryList": summaries}, {})

    def update(self, n: int, tag: str) -> None:
        """UpdateService's answer: the service OPERATION_IN_PROGRESS, and its OperationId."""
        shape = service_shape(tag, status="OPERATION_IN_PROGRESS")
        self.stub.add_response("update_service", {"Service": shape, "OperationId": op_id(n)})

    def start(self, n: int) -> None:
        self.stub.add_response(
            "start_deployment", {"OperationId": op_id(n)}, {"ServiceArn": SERVICE_ARN}
        )

    def operation(self, n: int, status: str, kind: str = "UPDATE_SERVICE") -> None:
        """ListOperations, newest first: operation ``n`` in ``status`` over older ones."""
        ops = [
            {
                "Id": op_id(n),
                "Type": kind,
                "Status": status,
                "TargetArn": SERVICE_ARN,
                "StartedAt": NOW,
                "UpdatedAt": NOW,
                **({"EndedAt": NOW} if "PROGRESS" not in status and status != "PENDING" else {}),
            },
            {
                "Id": op_id(0),
                "Type": "CREATE_SERVICE",
                "Status": "SUCCEEDED",
                "TargetArn": SERVICE_ARN,
                "StartedAt": NOW,
                "EndedAt": NOW,
                "UpdatedAt": NOW,
            },
        ]
        self.stub.add_response("list_operations", {"OperationSummaryList": ops})

    # -- what apprunner.migrate reads ------------------------------------------------------
    def scaling(self) -> None:
        self.stub.add_response(
            "describe_auto_scaling_configuration",
            {
                "AutoScalingConfiguration": {
                    "AutoScalingConfigurationArn": SCALING_ARN,
                    "AutoScalingConfigurationName": "learinal",
                    "AutoScalingConfigurationRevision": 3,
                    "Latest": True,
                    "Status": "ACTIVE",
                    "MaxConcurrency": 80,
                    "MinSize": 2,
                    "MaxSize": 10,
                    "CreatedAt": NOW,
                    "HasAssociatedService": True,
                    "IsDefault": False,
                }
            },
            {"AutoScalingConfigurationArn": SCALING_ARN},
        )

    def connector(self) -> None:
        self.stub.add_response(
            "describe_vpc_connector",
            {
                "VpcConnector": {
                    "VpcConnectorName": "learinal-db",
                    "VpcConnectorArn": CONNECTOR_ARN,
                    "VpcConnectorRevision": 1,
                    "Subnets": ["subnet-0a1b2c3d", "subnet-4e5f6a7b"],
                    "SecurityGroups": ["sg-0123abcd"],
                    "Status": "ACTIVE",
                    "CreatedAt": NOW,
                }
            },
            {"VpcConnectorArn": CONNECTOR_ARN},
        )

    def domains(self, *names: str) -> None:
        self.stub.add_response(
            "describe_custom_domains",
            {
                "DNSTarget": URL,
                "ServiceArn": SERVICE_ARN,
                "CustomDomains": [
                    {"DomainName": n, "EnableWWWSubdomain": False, "Status": "ACTIVE"}
                    for n in names
                ],
                "VpcDNSTargets": [],
            },
            {"ServiceArn": SERVICE_ARN},
        )
