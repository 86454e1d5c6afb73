"""Build the app image with the docker SDK, streaming the build's progress line by line.

Why the SDK (``client.api.build``): it streams decoded JSON we can show and keep a
tail of, names the failing step, and works with a plain engine (legacy builder with
``target=``; no buildx needed). The plan is built first as data (:func:`plan_build`),
so ``--dry-run`` prints it without touching the engine.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipwright import PROJECT_ROOT
from shipwright.errors import ConfigError, ShipwrightError
from shipwright.image import record as records
from shipwright.image.engine import docker_client, image_exists, short
from shipwright.image.reference import check_repository
from shipwright.image.tags import PRODUCTION, GitInfo, git_info, image_tags
from shipwright.output import say, status
from shipwright.runner import Runner
from shipwright.settings import Settings

TARGETS = ("production", "development", "build", "base")  # the Dockerfile's stages
TAIL_LINES = 20


@dataclass
class BuildPlan:
    """One build, as data: what ``docker build`` would be asked to do."""

    context: Path
    target: str
    repository: str
    tags: list[str]
    git: GitInfo
    created: str
    buildargs: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    cache_from: list[str] = field(default_factory=list)
    dockerfile: str = "Dockerfile"
    network_mode: str = "host"  # engines here run with --bridge=none; npm needs a network

    @property
    def version(self) -> str:
        return self.tags[0]

    @property
    def references(self) -> list[str]:
        return [f"{self.repository}:{tag}" for tag in self.tags]

    def describe(self) -> str:
        """The equivalent ``docker build`` command line (for plans and echo)."""
        parts = ["docker build", str(self.context), f"--target {self.target}"]
        parts += [f"--tag {self.repository}:{self.version}"]
        parts += [f"--build-arg {k}={v}" for k, v in self.buildargs.items()]
        parts += [f"--cache-from {ref}" for ref in self.cache_from]
        parts += [f"--network {self.network_mode}"]
        return " ".join(parts)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_build(
    settings: Settings,
    git: GitInfo,
    *,
    target: str = PRODUCTION,
    context: Path | None = None,
    created: str | None = None,
    root: Path = PROJECT_ROOT,
) -> BuildPlan:
    """Everything about a build that can be known without the engine."""
    if target not in TARGETS:
        raise ConfigError(f"unknown build target {target!r}: use one of {', '.join(TARGETS)}")
    repository = check_repository(settings["IMAGE_REPOSITORY"])
    context = context or root / "app"
    if not (context / "Dockerfile").is_file():
        raise ConfigError(f"no Dockerfile in {context}")
    created = created or utc_now()
    tags = image_tags(git, target)
    buildargs = {
        "BASE_IMAGE": settings["BASE_IMAGE"],
        "VERSION": tags[0],
        "REVISION": git.sha,
        "CREATED": created,
    }
    labels = {
        "org.opencontainers.image.title": settings.get("APP_NAME") or repository.rsplit("/")[-1],
        "org.opencontainers.image.version": tags[0],
        "org.opencontainers.image.revision": git.sha,
        "org.opencontainers.image.created": created,
        "io.shipwright.branch": git.branch,
        "io.shipwright.target": target,
    }
    source = _source_url()
    if source:
        labels["org.opencontainers.image.source"] = source
        buildargs["SOURCE"] = source
    return BuildPlan(
        context=context,
        target=target,
        repository=repository,
        tags=tags,
        git=git,
        created=created,
        buildargs=buildargs,
        labels=labels,
        cache_from=_cache_candidates(repository, git, target, root),
    )


def _source_url() -> str:
    server, repo = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    return f"{server}/{repo}" if server and repo else ""


def _cache_candidates(repository: str, git: GitInfo, target: str, root: Path) -> list[str]:
    """The branch's previous image (from the records), else main's ``latest``."""
    previous = next(
        (
            r
            for r in records.known(root)
            if r.branch == git.branch
            and r.repository == repository
            and r.target == target
            and r.git_sha != git.sha
        ),
        None,
    )
    if previous:
        return [f"{repository}:{previous.version}"]
    return [f"{repository}:latest"] if target == PRODUCTION else []


def run_build(plan: BuildPlan, runner: Runner, client: Any = None, pull_cache: bool = True) -> str:
    """Build (and tag) the image; returns its id ('' in dry-run mode). ``pull_cache``
    fetches missing cache images from the registry first."""
    if not runner.dry_run:
        client = client or docker_client()
    plan.cache_from = _ensure_cache(plan, runner, client, pull_cache)
    stream = runner.api(
        plan.describe(),
        _start_build,
        client,
        path=str(plan.context),
        dockerfile=plan.dockerfile,
        tag=plan.references[0],
        target=plan.target,
        buildargs=plan.buildargs,
        labels=plan.labels,
        cache_from=plan.cache_from,
        network_mode=plan.network_mode,
        rm=True,
        forcerm=True,
        decode=True,
    )
    image_id = "" if stream is None else follow_build(stream)
    for tag in plan.tags[1:]:
        runner.api(
            f"docker tag {plan.references[0]} {plan.repository}:{tag}",
            _tag,
            client,
            plan.references[0],
            plan.repository,
            tag,
        )
    return image_id


def _start_build(client: Any, **kwargs: Any) -> Any:
    import docker

    try:
        return client.api.build(**kwargs)
    except docker.errors.DockerException as exc:
        raise ShipwrightError(f"docker build could not start: {short(exc)}") from None


def _tag(client: Any, source: str, repository: str, tag: str) -> None:
    if not client.api.tag(source, repository, tag, force=True):
        raise ShipwrightError(f"docker tag {source} {repository}:{tag} failed")


def _ensure_cache(plan: BuildPlan, runner: Runner, client: Any, pull: bool) -> list[str]:
    """Cache images must be local for the legacy builder: pull the missing ones, and
    build without those that cannot be had (a cache miss is never an error)."""
    usable = []
    for reference in plan.cache_from:
        if not runner.dry_run and image_exists(client, reference):
            usable.append(reference)
        elif pull:
            pulled = runner.api(
                f"docker pull {reference} (build cache)", _pull_quietly, client, reference
            )
            if pulled or runner.dry_run:
                usable.append(reference)
        elif runner.dry_run:
            usable.append(reference)  # used if the engine has it
    return usable


def _pull_quietly(client: Any, reference: str) -> bool:
    repository, _, tag = reference.rpartition(":")
    try:
        client.api.pull(repository, tag=tag)
    except Exception as exc:  # noqa: BLE001 - APIError, connection errors: no cache, go on
        status(None, f"no build cache from {reference}: {short(exc)}")
        return False
    return image_exists(client, reference)


def follow_build(stream: Any) -> str:
    """Show a build stream line by line; return the image id, or raise ShipwrightError
    naming the failing step with the tail of its output."""
    step, tail, image_id = "", deque(maxlen=TAIL_LINES), ""
    try:
        for chunk in stream:
            if "error" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                raise _failed(step, detail, tail)
            image_id = chunk.get("aux", {}).get("ID", image_id)
            text = chunk.get("stream") or _status_line(chunk)
            for line in text.splitlines():
                if not line.strip():
                    continue
                if line.startswith("Step "):
                    step = line.strip()
                    tail.clear()
                tail.append(line)
                say(line)
                if line.startswith("Successfully built ") and not image_id:
                    image_id = line.split()[-1]
    except ShipwrightError:
        raise
    except Exception as exc:  # the connection dropped mid-build
        raise _failed(step, f"{type(exc).__name__}: {short(exc)}", tail) from None
    if not image_id:
        raise _failed(step, "the engine reported no image id", tail)
    return image_id


def _status_line(chunk: dict) -> str:
    """A pull inside the build (FROM): show state changes, not every progress tick."""
    state = chunk.get("status") or ""
    if not state or chunk.get("progressDetail", {}).get("total"):
        return ""
    return f"{chunk['id']}: {state}" if chunk.get("id") else state


def _failed(step: str, detail: str, tail: deque) -> ShipwrightError:
    where = f" at {step}" if step else ""
    message = f"docker build failed{where}: {detail.strip()}"
    if tail:
        message += "\n--- last output ---\n" + "\n".join(tail)
    return ShipwrightError(message)


def build_image(
    settings: Settings,
    runner: Runner,
    *,
    target: str = PRODUCTION,
    git: GitInfo | None = None,
    root: Path = PROJECT_ROOT,
    context: Path | None = None,
    client: Any = None,
    pull_cache: bool = True,
) -> records.ImageRecord:
    """Plan, build, tag and record one image (recorded only when really built).
    ``root`` holds the records; ``context`` defaults to ``root/app``."""
    git = git or git_info(runner, root)
    plan = plan_build(settings, git, target=target, root=root, context=context)
    image_id = run_build(plan, runner, client, pull_cache)
    record = records.ImageRecord(
        version=plan.version,
        repository=plan.repository,
        tags=plan.tags,
        git_sha=git.sha,
        branch=git.branch,
        created=plan.created,
        target=target,
        image_id=image_id,
    )
    if not runner.dry_run:
        records.save(record, root)
        status(True, f"built {plan.references[0]} ({image_id[:19]})")
    return record
