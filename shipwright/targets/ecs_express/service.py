"""Reading an Express service: the ECS service it is (DescribeServices: None before the
first deploy creates it), its Express view (DescribeExpressGatewayService: active
configurations, endpoints), and what a revision's task definition runs.

Why both views: the Express API says where the service is reached; the ECS API says
which task definition its PRIMARY deployment runs -- what the ECS tracker judges a
deployment by, and what run-task starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipwright.aws.clients import AwsClients
from shipwright.aws.errors import aws_errors
from shipwright.domain import Release
from shipwright.image.reference import ImageRef
from shipwright.targets.ecs_express.config import ExpressConfig

NOT_FOUND = {
    "ClusterNotFoundException": "EXPRESS_CLUSTER",
    "ServiceNotFoundException": "EXPRESS_SERVICE",
}


def express_errors(clients: AwsClients, doing: str):
    return aws_errors(clients.settings, doing, not_found=NOT_FOUND)


def find(clients: AwsClients, config: ExpressConfig) -> dict[str, Any] | None:
    """The ECS service, or None when it does not exist (yet)."""
    with express_errors(clients, f"describing the service {config.service}"):
        got = clients("ecs").describe_services(cluster=config.cluster, services=[config.service])
    live = [s for s in got.get("services", []) if s.get("status") != "INACTIVE"]
    return live[0] if live else None


def express(clients: AwsClients, arn: str) -> dict[str, Any]:
    with express_errors(clients, "describing the Express service"):
        return clients("ecs").describe_express_gateway_service(serviceArn=arn)["service"]


def endpoint(service: dict[str, Any]) -> str | None:
    """The newest active configuration's endpoint (a public one first) as a URL."""
    paths = [
        p for c in service.get("activeConfigurations") or [] for p in c.get("ingressPaths") or []
    ]
    paths.sort(key=lambda p: p.get("accessType") != "PUBLIC")
    if not paths:
        return None
    host = paths[0]["endpoint"]
    return host if "://" in host else f"https://{host}"


def revision_task_definition(clients: AwsClients, revision_arn: str) -> str:
    """The task definition a service revision runs."""
    with express_errors(clients, "describing the new service revision"):
        got = clients("ecs").describe_service_revisions(serviceRevisionArns=[revision_arn])
    return got["serviceRevisions"][0]["taskDefinition"]


@dataclass(frozen=True)
class Revision:
    """A task definition of the service, as far as deploys, runs and logs need it."""

    arn: str
    family: str
    container: str
    log_group: str
    stream_prefix: str  # awslogs streams: PREFIX/CONTAINER/TASK-ID
    image: str
    version: str
    described: dict[str, Any]

    def release(self, environment: str) -> Release:
        return Release(environment, self.version, self.image, who="", when="")


def revision(clients: AwsClients, arn: str, config: ExpressConfig) -> Revision:
    with express_errors(clients, "describing the task definition"):
        described = clients("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    containers = described.get("containerDefinitions") or [{}]
    app = next(
        (
            c
            for c in containers
            if any(e.get("name") == "APP_VERSION" for e in c.get("environment") or [])
        ),
        containers[0],
    )
    env = {e["name"]: e.get("value", "") for e in app.get("environment") or []}
    options = (app.get("logConfiguration") or {}).get("options") or {}
    image = app.get("image", "")
    ref = ImageRef.parse(image) if image else None
    name = app.get("name", "")
    return Revision(
        arn=arn,
        family=described.get("family", ""),
        container=name,
        log_group=options.get("awslogs-group") or config.log_group or f"/ecs/{config.app}",
        stream_prefix=f"{options.get('awslogs-stream-prefix', 'ecs')}/{name}/",
        image=image,
        version=env.get("APP_VERSION") or (ref.tag if ref else "") or image,
        described=described,
    )
