"""Stopped tasks of a revision, reported once each while a deploy or a run happens: why
ECS stopped the task, how the app container ended, its last log lines, and which of the
specification's common issues that looks like (missing environment variable, database
timeout, health check failure, out of memory) -- so the output alone says what broke."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shipwright.aws.clients import AwsClients
from shipwright.aws.logs import last_lines
from shipwright.output import say
from shipwright.targets.ecs.config import EcsConfig

LOG_LINES = 15
#: (where to look, pattern, what it means) -- the first match names the issue.
HINTS: tuple[tuple[str, str, str], ...] = (
    ("exit", r"^137$", "out of memory (exit 137): raise ECS_MEMORY and the container's memory"),
    ("reason", r"OutOfMemory|memory", "out of memory: raise ECS_MEMORY and the container's memory"),
    ("reason", r"health ?check", "health check failure: the app did not answer its health check"),
    (
        "reason",
        r"secret|ssm|ResourceInitializationError",
        "a secret reference could not be read "
        "(AWS_SECRET_REFS / AWS_SECRET_FROM, and the execution role's access to it)",
    ),
    ("reason", r"CannotPullContainer", "the image could not be pulled (registry, digest, role)"),
    (
        "logs",
        r"MongoServerSelection|MongoNetworkTimeout|ETIMEDOUT|ECONNREFUSED|timed out",
        "database connection timeout: check MONGO_URI / REDIS_URI and the network path",
    ),
    (
        "logs",
        r"environment variable|is not defined|is required|missing required",
        "missing environment variable: the app's own message names it",
    ),
)


def diagnose(reason: str, exit_code: int | None, lines: list[str]) -> str | None:
    text = {"reason": reason, "exit": str(exit_code), "logs": "\n".join(lines)}
    for where, pattern, meaning in HINTS:
        if re.search(pattern, text[where], re.IGNORECASE | re.MULTILINE):
            return meaning
    return None


def app_container(task: dict[str, Any], name: str) -> dict[str, Any]:
    return next((c for c in task.get("containers", []) if c.get("name") == name), {})


class StoppedTasks:
    def __init__(
        self,
        clients: AwsClients,
        config: EcsConfig,
        stream_prefix: str,
        out: Callable[[str], None] = say,
    ):
        self.clients, self.config, self.stream_prefix, self.out = (
            clients,
            config,
            stream_prefix,
            out,
        )
        self.reported: set[str] = set()

    def report(self, task_definition: str) -> list[dict[str, Any]]:
        """Print the stopped tasks of ``task_definition`` not reported yet; best effort
        (troubleshooting must never end a deploy)."""
        from botocore.exceptions import BotoCoreError, ClientError

        ecs = self.clients("ecs")
        try:
            arns = ecs.list_tasks(
                cluster=self.config.cluster, family=self.config.family, desiredStatus="STOPPED"
            ).get("taskArns", [])
            fresh = [a for a in arns if a not in self.reported][:100]
            tasks = (
                ecs.describe_tasks(cluster=self.config.cluster, tasks=fresh)["tasks"]
                if fresh
                else []
            )
        except (ClientError, BotoCoreError) as exc:
            self.out(f"  – stopped tasks could not be read: {exc}")
            return []
        mine = [t for t in tasks if t.get("taskDefinitionArn") == task_definition]
        for task in mine:
            self.reported.add(task["taskArn"])
            self.describe(task)
        return mine

    def describe(self, task: dict[str, Any]) -> None:
        task_id = task["taskArn"].rsplit("/", 1)[-1]
        app = app_container(task, self.config.container)
        reason = task.get("stoppedReason") or "no reason given"
        code = task.get("stopCode")
        self.out(f"  ✘ task {task_id} stopped: {reason}" + (f" ({code})" if code else ""))
        exit_code = app.get("exitCode")
        how = f"exited {exit_code}" if exit_code is not None else "never ran"
        why = f" ({app['reason']})" if app.get("reason") else ""
        self.out(f"    {self.config.container} {how}{why}")
        lines = last_lines(
            self.clients, self.config.log_group, self.stream_prefix + task_id, LOG_LINES
        )
        for line in lines:
            self.out(f"    | {line}")
        hint = diagnose(f"{reason} {app.get('reason', '')}", exit_code, lines)
        if hint:
            self.out(f"    → looks like: {hint}")
