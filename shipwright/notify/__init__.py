"""Telling people and tools about deploys: Slack messages and Sentry releases.

Both are optional (missing settings skip with one line), never fatal (a failing
integration prints one ✘ line and returns), redacted, and planned in --dry-run:
a notification is a side effect, not a deploy step that can fail the release.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from shipwright.httpcall import Response, request
from shipwright.output import status
from shipwright.redact import REDACTOR
from shipwright.runner import Runner


def ci_link() -> str | None:
    """The CI run that deploys (GitHub Actions), for "details" links; None locally."""
    server, repo, run = (
        os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


def send(
    runner: Runner | None,
    description: str,
    method: str,
    url: str,
    payload: Any,
    *,
    what: str,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
    call: Callable[..., Response] = request,
) -> bool | None:
    """One redacted JSON request through Runner.api: True sent, False failed (one ✘
    line said why), None planned (dry run). Never raises."""
    runner = runner or Runner()
    body = REDACTOR.redact_obj(payload)
    try:
        answer = runner.api(
            description, call, method, url, json_body=body, headers=headers, timeout=timeout
        )
    except Exception as exc:  # a notification must never break a deploy
        status(False, f"{what} failed: {REDACTOR.redact(f'{type(exc).__name__}: {exc}')}")
        return False
    if answer is None:
        return None
    if not answer.ok:
        status(False, f"{what} failed: {answer.describe()}")
        return False
    return True
