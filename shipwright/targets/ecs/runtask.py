"""One-off tasks: ``run_task`` with the release's revision and the service's network,
launch type and platform, the command as an override of the app container; its logs
streamed while it runs; waited for until STOPPED.

Why the app container's exit code and nothing else: a task whose sidecar exits 0 while
the app exits 1 failed, and a task that never started (no image, no secret, no
capacity) has no exit code at all -- it is reported with ECS's stoppedReason, never as 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shipwright.aws.clients import AwsClients
from shipwright.aws.logs import LogReader
from shipwright.domain import Run
from shipwright.errors import ConfigError
from shipwright.output import say
from shipwright.retry import poll
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.ecs import service as svc
from shipwright.targets.ecs.config import EcsConfig
from shipwright.targets.ecs.stopped import StoppedTasks, app_container

#: The exit code of a run whose app container never ran (or never stopped).
DID_NOT_RUN = -1


def run_once(
    clients: AwsClients,
    config: EcsConfig,
    runner: Runner,
    stopped: StoppedTasks,
    *,
    task_definition: str,
    service: dict[str, Any],
    command: Sequence[str],
    env: Mapping[str, str] | None = None,
) -> Run:
    settings: Settings = clients.settings
    leaked = [k for k in env or {} if settings.is_secret(k)]
    if leaked:
        raise ConfigError(
            f"{', '.join(leaked)}: secrets cannot be passed to a one-off ECS task as values "
            "(task overrides are readable by anyone who can describe the task)"
        )
    override: dict[str, Any] = {"name": config.container, "command": list(command)}
    if env:
        override["environment"] = [{"name": k, "value": v} for k, v in sorted(env.items())]
    kwargs: dict[str, Any] = {
        "cluster": config.cluster,
        "taskDefinition": task_definition,
        "count": 1,
        "startedBy": "shipwright-run",
        "overrides": {"containerOverrides": [override]},
    }
    for key in ("networkConfiguration", "platformVersion", "launchType"):
        if service.get(key):
            kwargs[key] = service[key]
    if service.get("capacityProviderStrategy"):
        kwargs.pop("launchType", None)
        kwargs["capacityProviderStrategy"] = service["capacityProviderStrategy"]
    ecs = clients("ecs")
    with svc.ecs_errors(clients, "starting the one-off task"):
        started = runner.api(
            f"run_task {svc.revision_of(task_definition)} on {config.cluster}: {' '.join(command)}",
            ecs.run_task,
            **kwargs,
        )
    if started is None:  # --dry-run
        return Run(list(command), 0, "", "dry run")
    if not started.get("tasks"):
        why = "; ".join(
            f"{f.get('arn', '')} {f.get('reason', '')}".strip() for f in started.get("failures", [])
        )
        say(f"✘ the task did not start: {why or 'no reason given'}")
        return Run(list(command), DID_NOT_RUN, f"run_task failed: {why}", config.cluster)
    task_arn = started["tasks"][0]["taskArn"]
    task_id = task_arn.rsplit("/", 1)[-1]
    lines: list[str] = []

    def out(line: str) -> None:
        lines.append(line)
        say(line)

    reader = LogReader(
        clients, config.log_group, stream_prefix=stopped.stream_prefix + task_id, out=out
    )

    def probe() -> dict[str, Any]:
        with svc.ecs_errors(clients, "following the one-off task"):
            task = ecs.describe_tasks(cluster=config.cluster, tasks=[task_arn])["tasks"][0]
        _read_quietly(reader)
        return task

    try:
        polled = poll(
            probe,
            timeout=config.run_timeout,
            done=lambda t: t.get("lastStatus") == "STOPPED",
            interval=config.poll_seconds,
            fatal=(ConfigError,),
        )
    except KeyboardInterrupt:
        _stop(runner, ecs, config, task_arn, "interrupted (Ctrl-C)")
        raise
    if not polled.ok:
        _stop(
            runner,
            ecs,
            config,
            task_arn,
            f"not done after {config.run_timeout:.0f}s ({config.setting('RUN_TIMEOUT')})",
        )
        return Run(list(command), DID_NOT_RUN, "\n".join(lines) + "\ntimed out", task_arn)
    task = polled.value
    _read_quietly(reader)
    app = app_container(task, config.container)
    code = app.get("exitCode")
    if code is None or app.get("lastStatus") not in (None, "STOPPED"):
        stopped.describe(task)
        why = task.get("stoppedReason") or app.get("reason") or "no exit code"
        return Run(list(command), DID_NOT_RUN, "\n".join(lines + [why]), task_arn)
    for other in task.get("containers", []):
        if other.get("name") != config.container and other.get("exitCode") is not None:
            say(f"  – sidecar {other['name']} exited {other['exitCode']} (not the app's exit code)")
    return Run(list(command), int(code), "\n".join(lines), task_arn)


def _read_quietly(reader: LogReader) -> None:
    """The task's log lines so far; a stream not created yet is not an error."""
    try:
        reader.read()
    except ConfigError:
        pass


def _stop(runner: Runner, ecs, config: EcsConfig, task_arn: str, why: str) -> None:
    say(f"✘ {why}")
    runner.api(
        f"stop_task {task_arn.rsplit('/', 1)[-1]}",
        ecs.stop_task,
        cluster=config.cluster,
        task=task_arn,
        reason=f"shipwright: {why}"[:255],
    )
