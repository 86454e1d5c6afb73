"""Push an image's tags to its registry and record the digest the registry answered.

Why these rules: registries drop connections and answer 5xx under load, so a push is
retried a bounded number of times with backoff; a wrong password never gets better by
retrying, so authentication failures stop at once with a message naming the registry.
The digest comes from the push stream itself (the registry's manifest digest), which
is what a deploy pins (``repo:tag@sha256:…``). Credentials go to the engine in the API
call's body, never on a command line, and every line shown passes through redaction.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipwright import PROJECT_ROOT
from shipwright.errors import ConfigError, ShipwrightError
from shipwright.image import record as records
from shipwright.image.build import utc_now
from shipwright.image.engine import docker_client, image_exists, short
from shipwright.image.reference import DIGEST, check_repository, registry_of
from shipwright.image.tags import PRODUCTION, GitInfo, git_info, image_tags, version_tag
from shipwright.output import say, status
from shipwright.retry import retry
from shipwright.runner import Runner
from shipwright.settings import Settings

ATTEMPTS = 3
BACKOFF = 1.0  # seconds before the second attempt; doubled each time after
_CODE = r"(?<![\w.:]){}(?![\w.])"  # an HTTP status, not part of a port or an id
TRANSIENT = re.compile(
    "|".join(
        [
            r"connection reset",
            r"connection refused",
            r"broken pipe",
            r"\beof\b",
            r"timeout",
            r"timed out",
            r"tls handshake",
            r"bad gateway",
            r"service unavailable",
            r"gateway timeout",
            r"too many requests",
            r"internal server error",
        ]
        + [_CODE.format(code) for code in ("429", "500", "502", "503", "504")]
    ),
    re.IGNORECASE,
)
AUTH = re.compile(
    "|".join(
        [
            r"unauthori[sz]ed",
            r"authentication required",
            r"incorrect username or password",
            r"\bdenied\b",
            r"forbidden",
        ]
        + [_CODE.format(code) for code in ("401", "403")]
    ),
    re.IGNORECASE,
)
_STREAM_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")
LAYER_STATES = ("Pushed", "Layer already exists", "Mounted from")


class AuthenticationError(ShipwrightError):
    """The registry refused the credentials (exit 1: nothing was changed)."""


class TransientError(ShipwrightError):
    """A failure worth another attempt (connection reset, 5xx …)."""


def classify(message: str, registry: str, what: str) -> ShipwrightError:
    """An engine/registry error message as an AuthenticationError, a TransientError or
    a plain ShipwrightError, worded for the user."""
    if AUTH.search(message):
        return AuthenticationError(
            f"authentication to registry {registry} failed during {what}: {message} "
            "(check DOCKER_USERNAME / DOCKER_PASSWORD and the repository's permissions)"
        )
    if TRANSIENT.search(message):
        return TransientError(f"{what} to registry {registry} failed: {message}")
    return ShipwrightError(f"{what} to registry {registry} failed: {message}")


def with_retries(
    call: Callable[[], Any],
    what: str,
    *,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Run ``call``; retry TransientError up to ``attempts`` times in all, waiting
    ``backoff``, 2×``backoff`` … between; anything else is raised at once."""

    def said(exc: BaseException, attempt: int, delay: float) -> None:
        status(False, f"{exc}; attempt {attempt}/{attempts}, retrying in {delay:g}s")

    try:
        return retry(
            call,
            retry_on=(TransientError,),
            attempts=attempts,
            backoff=backoff,
            on_retry=said,
            sleep=sleep,
        )
    except TransientError as exc:
        raise ShipwrightError(f"{exc} (gave up after {attempts} attempts)") from None


def credentials(settings: Settings) -> dict[str, str] | None:
    """DOCKER_USERNAME/DOCKER_PASSWORD as an auth config, None when neither is set."""
    user, password = settings.get("DOCKER_USERNAME"), settings.get("DOCKER_PASSWORD")
    if bool(user) != bool(password):
        missing = "DOCKER_PASSWORD" if user else "DOCKER_USERNAME"
        raise ConfigError(f"{missing} is not set (registry login needs both or neither)")
    return {"username": user, "password": password} if user else None


def login(client: Any, runner: Runner, registry: str, auth: dict[str, str], **retry: Any) -> None:
    """Log the engine in to ``registry``; raises AuthenticationError on bad credentials."""

    def attempt() -> None:
        import docker

        try:
            client.login(
                username=auth["username"],
                password=auth["password"],
                registry=None if registry == "docker.io" else registry,
                reauth=True,
            )
        except docker.errors.DockerException as exc:
            raise classify(short(exc), registry, f"login as {auth['username']}") from None
        except Exception as exc:  # requests' connection errors
            raise classify(f"{type(exc).__name__}: {exc}", registry, "login") from None

    runner.api(
        f"docker login {registry} --username {auth['username']} --password-stdin",
        with_retries,
        attempt,
        f"login to {registry}",
        **retry,
    )


def push_tag(
    client: Any, runner: Runner, repository: str, tag: str, auth: dict | None, **retry: Any
) -> str:
    """Push one tag (with retries); returns the digest ('' in dry-run mode)."""
    registry = registry_of(repository)

    def attempt() -> str:
        try:
            stream = client.api.push(
                repository, tag=tag, stream=True, decode=True, auth_config=auth
            )
            return follow_push(stream, registry, f"push of {repository}:{tag}")
        except ShipwrightError:
            raise
        except Exception as exc:  # APIError, requests' ConnectionError, ReadTimeout …
            raise classify(short(exc), registry, f"push of {repository}:{tag}") from None

    digest = runner.api(
        f"docker push {repository}:{tag}", with_retries, attempt, f"push of {tag}", **retry
    )
    return digest or ""


def follow_push(stream: Any, registry: str, what: str) -> str:
    """Show a push stream's state changes line by line; return the manifest digest."""
    digest = ""
    for chunk in stream:
        if "error" in chunk:
            message = chunk.get("errorDetail", {}).get("message") or chunk["error"]
            raise classify(" ".join(str(message).split()), registry, what)
        aux = chunk.get("aux") or {}
        if DIGEST.fullmatch(str(aux.get("Digest", ""))):
            digest = aux["Digest"]
        state = chunk.get("status") or ""
        found = _STREAM_DIGEST.search(state)
        if found:
            digest = digest or found.group(1)
            say(state)
        elif state.startswith("The push refers to"):
            say(state)
        elif chunk.get("id") and state.startswith(LAYER_STATES):
            say(f"{chunk['id']}: {state}")
    if not digest:
        raise TransientError(f"{what} to registry {registry} ended without a digest")
    return digest


def push_image(
    settings: Settings,
    runner: Runner,
    *,
    version: str | None = None,
    target: str = PRODUCTION,
    git: GitInfo | None = None,
    root: Path = PROJECT_ROOT,
    client: Any = None,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
) -> records.ImageRecord:
    """Push every tag of ``version`` (default: this commit's) to IMAGE_REPOSITORY, log in
    first when credentials are set, and record the digest."""
    repository = check_repository(settings["IMAGE_REPOSITORY"])
    registry = registry_of(repository)
    auth = credentials(settings)
    retry = {"attempts": attempts, "backoff": backoff, "sleep": sleep}
    record = _record_for(runner, root, version, target, git, repository)
    if not runner.dry_run:
        client = client or docker_client()
    _ensure_local_tags(client, runner, record, repository)
    if auth:
        login(client, runner, registry, auth, **retry)
    digests = [push_tag(client, runner, repository, tag, auth, **retry) for tag in record.tags]
    if runner.dry_run:
        return record
    record.digest = digests[0]
    record.repository = repository
    record.pushed = utc_now()
    record.registries = sorted({*record.registries, registry})
    records.save(record, root)
    status(True, f"pushed {record.reference}")
    return record


def _record_for(
    runner: Runner,
    root: Path,
    version: str | None,
    target: str,
    git: GitInfo | None,
    repository: str,
) -> records.ImageRecord:
    """The build record of ``version``, or of this commit's version for ``target``."""
    if version is None:
        git = git or git_info(runner, root)
        version = version_tag(git, target)
        found = records.load(version, root)
        if found is None:
            return records.ImageRecord(
                version=version,
                repository=repository,
                tags=image_tags(git, target),
                git_sha=git.sha,
                branch=git.branch,
                created=utc_now(),
                target=target,
            )
        return found
    found = records.load(version, root)
    if found is None:
        records.resolve(version, root, pushed=False)  # raises, listing the known versions
    return found


def _ensure_local_tags(
    client: Any, runner: Runner, record: records.ImageRecord, repository: str
) -> None:
    """Every tag must name the recorded image under ``repository`` before it is pushed:
    a build recorded under another repository is tagged into this one, and a tag that
    moved on since (``latest`` after a newer build) is pointed back at this image."""
    if runner.dry_run:
        return
    source = next(
        (
            s
            for s in (f"{record.repository}:{record.version}", record.image_id)
            if s and image_exists(client, s)
        ),
        None,
    )
    if source is None:
        raise ConfigError(
            f"image {record.repository}:{record.version} is not built on this engine "
            "(run invoke image.build first)"
        )
    image_id = client.images.get(source).id
    for tag in record.tags:
        reference = f"{repository}:{tag}"
        if not image_exists(client, reference) or client.images.get(reference).id != image_id:
            runner.api(
                f"docker tag {source} {reference}",
                client.api.tag,
                image_id,
                repository,
                tag,
                force=True,
            )
