"""Sentry: a release per version, its commit, a deploy marker per environment, finalized.

Why (specification, Deploy to Production: "Creates Sentry release"; Post-Deployment
Monitoring: "Monitor Sentry for new errors"): with a release and a deploy marker,
Sentry attributes new errors to the version that introduced them and shows when it
reached each environment. The calls follow Sentry's web API:

    POST /api/0/organizations/{org}/releases/                      create (version, projects)
    PUT  /api/0/organizations/{org}/releases/{version}/            commits / refs
    POST /api/0/organizations/{org}/releases/{version}/deploys/    deploy marker
    PUT  /api/0/organizations/{org}/releases/{version}/            dateReleased (finalize)

The token goes in the Authorization header only; payloads pass the redaction layer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from shipwright.domain import Release
from shipwright.notify import ci_link, send
from shipwright.output import status
from shipwright.redact import REDACTOR
from shipwright.runner import Runner
from shipwright.settings import Settings

REQUIRED = ("SENTRY_AUTH_TOKEN", "SENTRY_ORG", "SENTRY_PROJECT")


def iso(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


@dataclass
class Sentry:
    """One organisation's release API, calls planned through the runner."""

    url: str
    org: str
    projects: list[str]
    token: str
    runner: Runner | None = None
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings, runner: Runner | None = None) -> Sentry | None:
        """None (after one "skipped" line) when a required setting is missing."""
        missing = [key for key in REQUIRED if not settings.get(key)]
        if missing:
            status(None, f"Sentry: skipped ({', '.join(missing)} not set)")
            return None
        token = settings["SENTRY_AUTH_TOKEN"]
        REDACTOR.add(token)
        return cls(
            settings.get("SENTRY_URL", "https://sentry.io") or "https://sentry.io",
            settings["SENTRY_ORG"],
            settings.items_list("SENTRY_PROJECT"),
            token,
            runner,
        )

    # -- one call each --------------------------------------------------------------
    def _releases(self, version: str | None = None) -> str:
        base = f"{self.url.rstrip('/')}/api/0/organizations/{quote(self.org, safe='')}/releases/"
        return base if version is None else f"{base}{quote(version, safe='')}/"

    def _call(self, what: str, method: str, url: str, payload: dict[str, Any]) -> bool | None:
        headers = {"Authorization": f"Bearer {self.token}"}
        return send(
            self.runner,
            f"Sentry: {what}",
            method,
            url,
            payload,
            what=f"Sentry {what}",
            headers=headers,
            timeout=self.timeout,
        )

    def create_release(
        self, version: str, *, ref: str = "", link: str | None = None
    ) -> bool | None:
        payload: dict[str, Any] = {"version": version, "projects": self.projects}
        if ref:
            payload["ref"] = ref
        if link:
            payload["url"] = link
        return self._call(f"create release {version}", "POST", self._releases(), payload)

    def set_commits(
        self,
        version: str,
        sha: str,
        *,
        repository: str | None = None,
        previous_sha: str | None = None,
    ) -> bool | None:
        """The release's commit; with a repository known to Sentry also ``refs`` (Sentry
        then fetches the commits since ``previous_sha`` itself)."""
        commit: dict[str, Any] = {"id": sha}
        payload: dict[str, Any] = {"commits": [commit]}
        if repository:
            commit["repository"] = repository
            ref: dict[str, Any] = {"repository": repository, "commit": sha}
            if previous_sha:
                ref["previousCommit"] = previous_sha
            payload["refs"] = [ref]
        return self._call(f"set commits of {version}", "PUT", self._releases(version), payload)

    def create_deploy(
        self,
        version: str,
        environment: str,
        *,
        started: datetime | None = None,
        finished: datetime | None = None,
        link: str | None = None,
    ) -> bool | None:
        payload: dict[str, Any] = {
            "environment": environment,
            "name": f"{version} to {environment}",
        }
        if started:
            payload["dateStarted"] = iso(started)
        if finished:
            payload["dateFinished"] = iso(finished)
        if link:
            payload["url"] = link
        url = self._releases(version) + "deploys/"
        return self._call(f"deploy marker {version} → {environment}", "POST", url, payload)

    def finalize(self, version: str, *, released: datetime | None = None) -> bool | None:
        payload = {"dateReleased": iso(released)}
        return self._call(f"finalize release {version}", "PUT", self._releases(version), payload)


def record_release(
    settings: Settings,
    release: Release,
    *,
    started: datetime | None = None,
    finished: datetime | None = None,
    previous: Release | None = None,
    repository: str | None = None,
    link: str | None = None,
    runner: Runner | None = None,
) -> bool | None:
    """After a deploy succeeded: create the release, attach its commit, mark the deploy
    and finalize. Stops after a failed create (the others need the release); a failed
    commits call is reported and the rest still runs. True when every call succeeded,
    False when one failed, None when skipped or planned."""
    sentry = Sentry.from_settings(settings, runner)
    if sentry is None:
        return None
    link = link or ci_link()
    repository = (
        repository or settings.get("SENTRY_REPOSITORY") or os.environ.get("GITHUB_REPOSITORY")
    )
    created = sentry.create_release(release.version, ref=release.git_sha, link=link)
    if created is False:
        return False
    results = [created]
    if release.git_sha:
        results.append(
            sentry.set_commits(
                release.version,
                release.git_sha,
                repository=repository,
                previous_sha=previous.git_sha if previous else None,
            )
        )
    results.append(
        sentry.create_deploy(
            release.version, release.environment, started=started, finished=finished, link=link
        )
    )
    results.append(sentry.finalize(release.version, released=finished))
    if any(r is False for r in results):
        return False
    return None if any(r is None for r in results) else True
