"""The Compose-hosts target: releases on plain Docker hosts over SSH, blue-green per host.

Why it knows nothing of the lock or the ledger: the deploy flow composes
lock -> deploy -> record; the target only moves containers and nginx, and says
where every host ended (Outcome.units, and :attr:`last_runs` for the result table).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from shipwright.errors import CommandError
from shipwright.image.reference import registry_of
from shipwright.output import say
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.base import Check, Checks, Outcome, Plan, Release
from shipwright.targets.compose_hosts import commands as cmd
from shipwright.targets.compose_hosts.config import ComposeConfig
from shipwright.targets.compose_hosts.hosts import Host, HostState, hosts_for, on_each
from shipwright.targets.compose_hosts.plan import build_plan
from shipwright.targets.compose_hosts.rollout import Hook, Rollout
from shipwright.targets.compose_hosts.storage import HostLedgerStore, HostLockStore
from shipwright.targets.compose_hosts.switcher import HostRun, Switcher


class ComposeHostsTarget:
    name = "compose"

    def __init__(
        self,
        settings: Settings,
        runner: Runner | None = None,
        *,
        config: ComposeConfig | None = None,
        hook: Hook | None = None,
    ):
        self.settings = settings
        self.config = config or ComposeConfig.from_settings(settings)
        self.runner = runner or Runner()
        self.hook = hook
        self.hosts: list[Host] = hosts_for(self.config, self.runner)
        self.last_runs: list[HostRun] = []

    # -- storage for the flow -----------------------------------------------------------
    def lock_store(self) -> HostLockStore:
        return HostLockStore(self.hosts)

    def ledger_store(self) -> HostLedgerStore:
        return HostLedgerStore(self.hosts)

    # -- Target protocol ------------------------------------------------------------------
    def plan(self, release: Release, *, inspect: bool = False, action: str = "deploy") -> Plan:
        """Commands per host; with ``inspect`` the hosts' serving slots are read first
        (read-only), otherwise nothing connects."""
        layouts, serving = {}, {}
        for host in self.hosts:
            state = self._try_state(host) if inspect else None
            layouts[host.name] = (
                host.layout
                if state
                else cmd.Layout(self.config.host_root or cmd.ROOT_EXPR, self.config.app_name)
            )
            serving[host.name] = state.active if state and state.serving else None
        return build_plan(release, self.config, layouts, serving, action)

    def deploy(self, release: Release) -> Outcome:
        """Roll ``release`` out; on failure or Ctrl-C every switched host goes back."""
        return self._roll(release, undo_on_failure=True)

    def rollback(self, to: Release) -> Outcome:
        """Same blue-green path towards ``to``; hosts already on ``to`` stay there if a
        later host fails (going back to the bad release helps nobody)."""
        return self._roll(to, undo_on_failure=False)

    def verify(self, release: Release) -> Checks:
        checks = Checks()
        health = cmd.health(self.config.proxy_port, list(self.config.health_paths))
        for host in self.hosts:
            try:
                state = host.state()
                result = host.read(health, check=False)
            except CommandError as exc:
                checks.items.append(Check(f"{host.name}: reachable", False, str(exc)))
                continue
            version = state.serving.version if state.serving else None
            checks.items.append(
                Check(
                    f"{host.name}: serves {release.version}",
                    version == release.version,
                    f"serving {version or 'nothing'} on slot {state.active or '-'}",
                )
            )
            checks.items.append(
                Check(
                    f"{host.name}: {', '.join(self.config.health_paths)} via nginx",
                    result.ok,
                    result.stdout.strip(),
                )
            )
        return checks

    def current(self) -> Release | None:
        """What the first host that answers serves."""
        for host in self.hosts:
            state = self._try_state(host)
            if state is not None:
                return state.serving
        return None

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for host in self.hosts:
            try:
                out[host.name] = host.state().to_dict()
            except CommandError as exc:
                out[host.name] = {"error": str(exc).splitlines()[0]}
        return out

    def logs(self, follow: bool = False, since: str | None = None) -> None:
        """The serving container's logs from every host (prefixed with the host)."""

        def one(host: Host) -> None:
            try:
                slot = host.state().active or cmd.SLOTS[0]
                host.read(cmd.logs(host.layout, slot, follow, since), quiet=False, check=False)
            except CommandError as exc:
                say(f"✘ {host.name}: {exc}")

        threads = [threading.Thread(target=one, args=(h,), daemon=True) for h in self.hosts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    # -- housekeeping ---------------------------------------------------------------------
    def prune(self, needed: Iterable[str]) -> dict[str, int]:
        """Remove this app's pulled images the ledger no longer needs (the serving and
        the stopped previous one stay: docker refuses to remove an image in use)."""
        registry = self.config.pull_registry
        keep = {cmd.pull_reference(i, registry) for i in needed if "@" in i}
        repos = sorted({ref.split("@", 1)[0] for ref in keep})

        def one(host: Host) -> int:
            ids: list[str] = []
            for repo in repos:
                for line in host.read(cmd.list_images(repo)).stdout.splitlines():
                    ref, image_id, tag = (line.split() + ["", "", ""])[:3]
                    # Hosts pull by digest, so their images carry no tag: a tagged
                    # image was put there by someone else and is left alone.
                    if tag == "<none>" and ref not in keep and image_id not in ids:
                        ids.append(image_id)
            if ids:
                host.run(cmd.remove_images(ids), quiet=True)
            return len(ids)

        removed: dict[str, int] = {}
        for name, result in on_each(self.hosts, one).items():
            if isinstance(result, Exception):
                say(f"– {name}: images not pruned: {str(result).splitlines()[0]}")
            else:
                removed[name] = result
        return removed

    def close(self) -> None:
        for host in self.hosts:
            host.close()

    # -- internals ------------------------------------------------------------------------
    def _roll(self, release: Release, *, undo_on_failure: bool) -> Outcome:
        cmd.by_digest(release.image)  # by digest only: a ConfigError before anything runs
        app_env = self.settings.app_environment()
        runs = [HostRun(host, release) for host in self.hosts]
        self.last_runs = runs
        rollout = Rollout(
            [Switcher(r, app_env) for r in runs],
            batch_size=self.config.batch_size,
            undo_on_failure=undo_on_failure,
            hook=self.hook,
            registry_login=self._registry_login(release),
        )
        return rollout.run().outcome(release)

    def _registry_login(self, release: Release) -> tuple[str, str, str] | None:
        user, password = self.config.registry_user, self.config.registry_password
        if not (user and password):
            return None
        return (
            registry_of(cmd.repository_of(release.image, self.config.pull_registry)),
            user,
            password,
        )

    @staticmethod
    def _try_state(host: Host) -> HostState | None:
        try:
            return host.state()
        except CommandError:
            return None
