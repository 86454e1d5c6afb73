"""``invoke run``: a one-off command as a Job made from the Deployment's pod template.

Why the pod template: the command then runs with exactly what the app runs with (its
ConfigMap and Secret, service account, volumes, security context), in the release's
image by digest. What would make it a second app pod is taken out: the Service's labels
(so no traffic reaches it), probes, other containers. ``backoffLimit: 0`` (a migration
must not silently run twice), ``activeDeadlineSeconds`` from K8S_JOB_TIMEOUT, and a TTL
so the cluster removes it an hour after it ended -- the tool itself deletes nothing.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from shipwright.domain import Release, Run
from shipwright.image.reference import ImageRef
from shipwright.output import say
from shipwright.retry import poll
from shipwright.targets.k8s.bind import ENV_LABEL, MANAGED, label_value
from shipwright.targets.k8s.context import Context
from shipwright.targets.k8s.judge import FATAL_WAITING

RUN_LABEL = "shipwright.io/run"
TTL_SECONDS = 3600


def job_for(
    ctx: Context,
    deployment: dict[str, Any],
    release: Release,
    command: Sequence[str],
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Job that runs ``command`` once in ``release``'s image."""
    name = f"{deployment['metadata']['name'][:40]}-run-{secrets.token_hex(3)}"
    template = copy.deepcopy(deployment["spec"]["template"])
    spec = template["spec"]
    app = next(c for c in spec["containers"] if c.get("name") == ctx.cfg.container)
    for key in ("livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "args"):
        app.pop(key, None)
    app["image"] = ImageRef.parse(release.image).by_digest()
    app["command"] = list(command)
    extra = {"APP_VERSION": release.version, "GIT_SHA": release.git_sha, **(env or {})}
    kept = [e for e in app.get("env", []) if e.get("name") not in extra]
    app["env"] = kept + [{"name": k, "value": v} for k, v in extra.items()]
    spec["containers"] = [app]
    spec["restartPolicy"] = "Never"
    labels = {**MANAGED, ENV_LABEL: ctx.cfg.environment, RUN_LABEL: name}
    template["metadata"] = {
        "labels": {**labels, "app.kubernetes.io/version": label_value(release.version)}
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": ctx.kube.namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": int(ctx.cfg.job_timeout),
            "ttlSecondsAfterFinished": TTL_SECONDS,
            "template": template,
        },
    }


def run_job(ctx: Context, job: dict[str, Any], command: Sequence[str]) -> Run:
    """Create ``job``, wait until its container terminated (or cannot start), print and
    return its exit code and log."""
    name = job["metadata"]["name"]
    where = f"job/{name} in {ctx.kube.namespace}"
    ctx.runner.api(
        f"create Job/{name} in {ctx.kube.namespace}: {' '.join(command)}", ctx.kube.create, job
    )
    if ctx.runner.dry_run:
        return Run(list(command), 0, "", where)
    polled = poll(
        lambda: _ended(ctx, name),
        timeout=ctx.cfg.job_timeout + 30,
        done=lambda found: found is not None,
        interval=0.2,
        growth=1.5,
        max_interval=ctx.cfg.poll_interval,
    )
    pod, code, why = polled.value or (None, 1, f"did not end within {ctx.cfg.job_timeout:.0f}s")
    output = ctx.kube.pod_log(pod, ctx.cfg.container) if pod else ""
    if output.strip():
        say(output.rstrip())
    if why:
        say(f"✘ {where}: {why}")
    return Run(list(command), code, output, where)


def _ended(ctx: Context, job: str) -> tuple[str | None, int, str] | None:
    """(pod, exit code, why it did not run) once the Job's container ended."""
    pods = ctx.kube.list("v1", "Pod", f"{RUN_LABEL}={job}")
    for pod in pods:
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            if cs.get("name") != ctx.cfg.container:
                continue
            state = cs.get("state") or {}
            if state.get("terminated"):
                return pod["metadata"]["name"], int(state["terminated"].get("exitCode", 1)), ""
            waiting = state.get("waiting") or {}
            if waiting.get("reason") in FATAL_WAITING:
                why = f"{waiting['reason']}: {waiting.get('message', '')}"
                return pod["metadata"]["name"], 1, why
    found = ctx.kube.get("batch/v1", "Job", job)
    for cond in ((found or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Failed" and cond.get("status") == "True":
            name = pods[0]["metadata"]["name"] if pods else None
            return name, 1, f"{cond.get('reason', 'Failed')}: {cond.get('message', '')}"
    return None
