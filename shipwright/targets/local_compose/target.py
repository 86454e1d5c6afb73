"""The local target: the development environment on this machine's Docker engine.

A release is ``docker compose up --detach --wait`` of the project's stack with the
backend pinned to the release's image (``repo:tag@sha256:…`` from the local registry)
and labelled with the release, so ``current()`` reads what serves from the running
container itself. Only the backend is recreated; redis (and mongodb) keep running.

Downtime is NOT zero here, on purpose: there is one backend container on the host
network, and compose stops it before the new one binds the port, so requests fail for
the second or two the new process takes to listen. Development needs a fast,
faithful rehearsal of the pipeline, not a blue-green pair; the flow's prober measures
the gap and the metrics table shows it. Targets for shared environments (compose
hosts, ECS, …) are the zero-downtime ones.

Why a failed deploy restores the previous release itself: the Target contract is
"leave the previous one able to return", and with a single container the previous one
is gone once replaced -- so the target brings it back (same image, same labels) and
says so with ``Outcome.restored``; the flow then exits 3.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from shipwright.checks import health
from shipwright.compose import local
from shipwright.domain import Check, Checks, Outcome, Plan, Release, Run, Status
from shipwright.errors import CommandError, ConfigError, ShipwrightError
from shipwright.image.engine import docker_client
from shipwright.ledger import JsonLinesLedgerStore
from shipwright.lock import FileLockStore
from shipwright.output import say
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.local_compose import commands as cmd
from shipwright.targets.local_compose.images import ensure_image

LOG_TAIL = 30  # lines of a failed backend's log shown before it is removed


class LocalComposeTarget:
    name = "local"

    def __init__(
        self,
        settings: Settings,
        runner: Runner | None = None,
        *,
        client: Any = None,
    ):
        self.settings = settings
        self.runner = runner or Runner()
        self.stack = cmd.Stack.for_settings(settings)
        self._client, self._own_client = client, client is None

    # -- storage for the flow -------------------------------------------------------------
    def lock_store(self) -> FileLockStore:
        return FileLockStore(self.stack.state_dir / "locks")

    def ledger_store(self) -> JsonLinesLedgerStore:
        return JsonLinesLedgerStore(self.stack.state_dir / "ledger")

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = docker_client()
        return self._client

    def compose(self) -> list[str]:
        return local.compose_command(self.runner)

    # -- Target protocol ------------------------------------------------------------------
    def plan(self, release: Release, action: str = "deploy") -> Plan:
        """What deploy/rollback runs (the same steps for both), without touching the
        engine."""
        try:
            compose = self.compose()
        except ConfigError:
            compose = ["docker", "compose"]
        others = ", ".join(f"{i} ({s})" for s, i in self.stack.third_party_images().items())
        shipped = len(self.settings.app_environment())
        return Plan(
            self.name,
            release,
            [
                f"check the engine has {release.image} (backend), {others}; pull only from "
                "a loopback registry or with SHIPWRIGHT_ALLOW_PULL=1",
                f"write {self.stack.env_file} ({shipped} app variables, mode 0600)",
                f"write {self.stack.override} (backend image and labels of {release.version})",
                "run " + " ".join(self.stack.up(compose)) + " (recreates the backend only)",
                f"check the backend container is healthy and serves {release.version}, "
                f"and GET http://127.0.0.1:{self.stack.port}/readyz",
                "on failure: the same with the release that served before",
            ],
        )

    def deploy(self, release: Release) -> Outcome:
        """Replace the backend with ``release``; if it never gets healthy, bring back
        what served before (``restored``), or remove it when nothing did."""
        previous = self.current()
        outcome = self._up(release)
        if outcome.ok:
            return outcome
        self._show_failed_logs()  # the container is replaced or removed next
        if previous is None:
            self._remove_failed()
            outcome.units = {cmd.SERVICE: "unchanged: nothing served before; failed one removed"}
            return outcome
        say(f"↩ {release.version} did not get healthy: bringing back {previous.version}")
        began = time.monotonic()
        try:
            back = self._up(previous)
        except ShipwrightError as exc:
            back = Outcome(False, previous, str(exc))
        outcome.phases["restore"] = round(time.monotonic() - began, 3)
        if back.ok:
            outcome.restored = True
            outcome.units = {cmd.SERVICE: f"restored: {previous.version}"}
        else:
            outcome.units = {cmd.SERVICE: f"broken: {previous.version} did not come back"}
            outcome.message += f"; restoring {previous.version} failed: {back.message}"
        return outcome

    def rollback(self, to: Release) -> Outcome:
        """The same path with an older release (its image is still in the local registry)."""
        return self._up(to)

    def verify(self, release: Release) -> Checks:
        """The backend container runs ``release`` and is healthy, and /readyz answers."""
        checks = Checks()
        container = self._backend()
        if container is None:
            checks.items.append(Check("local: backend container running", False, "none runs"))
            return checks
        serving = self._release_of(container)
        checks.items.append(
            Check(
                f"local: backend serves {release.version}",
                serving.version == release.version,
                f"serving {serving.version} ({serving.image})",
            )
        )
        state = container.attrs.get("State", {})
        healthy = (state.get("Health") or {}).get("Status", "none")
        checks.items.append(
            Check("local: backend container healthy", healthy == "healthy", healthy)
        )
        base = f"http://127.0.0.1:{self.stack.port}"
        (ready,) = health.check_health(base, ["/readyz"], deadline=self.stack.ready_timeout)
        ready.name = f"local: {ready.name} on 127.0.0.1:{self.stack.port}"
        checks.items.append(ready)
        return checks

    def current(self) -> Release | None:
        """The release the running backend container carries in its labels."""
        container = self._backend()
        return None if container is None else self._release_of(container)

    def status(self) -> Status:
        """The stack's services (state, health, image) and the release that serves."""
        result = self.runner.local(
            self.stack.ps(self.compose()),
            env=self.stack.environment(),
            quiet=True,
            changes=False,
        )
        rows = [
            (
                row.get("Service", "?"),
                row.get("State", ""),
                row.get("Health", ""),
                row.get("Image", ""),
            )
            for row in _ps(result.stdout)
        ]
        return Status(
            self.current(),
            ("Service", "State", "Health", "Image"),
            rows,
            data={"project": self.stack.project},
        )

    def app_url(self) -> str | None:
        """None: the app's URL is the team's own (APP_URL: a load balancer, a domain)."""
        return None

    def logs(self, follow: bool = False, since: str | None = None) -> None:
        self.runner.local(
            self.stack.logs(self.compose(), follow=follow, since=since),
            env=self.stack.environment(),
            changes=False,
            check=False,
        )

    def run(
        self, release: Release, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> Run:
        """A one-off container of the release's image on the local engine (host network,
        the app's variables through the engine API, never a command line), waited for
        and removed; its exit code and output."""
        variables = {**self.settings.app_environment(), **(env or {})}
        variables["APP_VERSION"] = release.version
        if self.runner.dry_run:
            what = f"docker run --rm {release.image} {' '.join(command)}"
            self.runner.api(f"{what} ({len(variables)} app variables, engine API)", lambda: None)
            return Run(list(command), 0, "", "local engine")
        ensure_image(self.client, self.runner, release.image, "backend")
        container = self.client.containers.run(
            release.image,
            list(command),
            environment=variables,
            network_mode="host",
            detach=True,
            labels={"io.shipwright.run": "1"},
        )
        try:
            code = int(container.wait().get("StatusCode", 1))
            logs = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
        finally:
            container.remove(force=True)
        say(logs.rstrip())
        return Run(list(command), code, logs, "local engine")

    def prune(self, needed: Iterable[str]) -> None:
        """Nothing: the images on a developer's engine and local registry are theirs
        (they build and run them by hand too); ``invoke local.down`` removes the stack."""

    def close(self) -> None:
        if self._own_client and self._client is not None:
            self._client.close()
            self._client = None

    # -- internals ------------------------------------------------------------------------
    def _up(self, release: Release) -> Outcome:
        """Images checked first (nothing changes if one is missing), then env file,
        override and ``compose up --wait``; a compose failure is an Outcome, not an error."""
        phases: dict[str, float] = {}
        began = time.monotonic()
        client = None if self.runner.dry_run else self.client
        ensure_image(client, self.runner, release.image, "backend")
        for service, image in self.stack.third_party_images().items():
            ensure_image(client, self.runner, image, service)
        phases["images"] = round(time.monotonic() - began, 3)
        shipped = self.settings.app_environment()
        self.runner.api(
            f"write {self.stack.env_file} ({len(shipped)} app variables, mode 0600)",
            local.write_env_file,
            self.stack.env_file,
            local.format_env(shipped),
        )
        self.runner.api(
            f"write {self.stack.override} ({release.version})",
            _write,
            self.stack.override,
            cmd.override_file(release),
        )
        began = time.monotonic()
        try:
            self.runner.local(
                self.stack.up(self.compose()),
                env=self.stack.environment(),
                timeout=self.stack.ready_timeout + 180,
            )
        except CommandError as exc:
            phases["up"] = round(time.monotonic() - began, 3)
            detail = str(exc).splitlines()[-1] if str(exc) else "compose up failed"
            return Outcome(
                False,
                release,
                f"{release.version} did not get healthy within "
                f"{self.stack.ready_timeout}s: {detail}",
                phases=phases,
                units={cmd.SERVICE: f"failed: {release.version}"},
            )
        phases["up"] = round(time.monotonic() - began, 3)
        return Outcome(
            True, release, phases=phases, units={cmd.SERVICE: f"switched: {release.version}"}
        )

    def _show_failed_logs(self) -> None:
        """The failed backend's last log lines: why it never got healthy."""
        self.runner.local(
            self.stack.logs(self.compose(), tail=LOG_TAIL),
            env=self.stack.environment(),
            changes=False,
            check=False,
        )

    def _remove_failed(self) -> None:
        """Nothing served before: remove the failed backend, so nothing is left running
        that looks like a release."""
        self.runner.local(
            self.stack.remove_backend(self.compose()), env=self.stack.environment(), check=False
        )

    def _backend(self) -> Any:
        """The running backend container of this stack, or None."""
        if self.runner.dry_run and self._client is None:
            try:
                self._client = docker_client()
            except ShipwrightError:
                return None
        labels = [
            f"com.docker.compose.project={self.stack.project}",
            f"com.docker.compose.service={cmd.SERVICE}",
        ]
        running = self.client.containers.list(filters={"label": labels, "status": "running"})
        return running[0] if running else None

    def _release_of(self, container: Any) -> Release:
        config = container.attrs.get("Config", {})
        return cmd.release_from_labels(
            config.get("Labels") or {}, config.get("Image", ""), self.settings.environment
        )


def _ps(stdout: str) -> list[dict[str, Any]]:
    """``compose ps --format json``: one array, or one object per line (newer v2)."""
    text = stdout.strip()
    if not text:
        return []
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _write(path: Path, text: str) -> None:
    """Write atomically (temp file + rename), creating the folder."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=".override-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
