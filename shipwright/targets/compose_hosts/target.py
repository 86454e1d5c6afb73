"""The Compose-hosts target: releases on plain Docker hosts over SSH, blue-green per host.

Why it knows nothing of the rules of the lock or the ledger: the deploy flow composes
lock -> deploy -> record; the target moves containers and nginx, says where every host
ended (Outcome.units), and keeps the lock and ledger files on the hosts (``storage``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence

from shipwright.domain import Check, Checks, Outcome, Plan, Release, Run, Status
from shipwright.errors import CommandError, ShipwrightError
from shipwright.image.reference import registry_of
from shipwright.output import say
from shipwright.runner import Runner
from shipwright.settings import Settings
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

    # -- storage for the flow -----------------------------------------------------------
    def lock_store(self) -> HostLockStore:
        return HostLockStore(self.hosts)

    def ledger_store(self) -> HostLedgerStore:
        return HostLedgerStore(self.hosts)

    # -- Target protocol ------------------------------------------------------------------
    def plan(self, release: Release, action: str = "deploy") -> Plan:
        """Commands per host; the hosts' serving slots are read first (read-only; a host
        that does not answer is planned as "blue or green")."""
        layouts, serving = {}, {}
        for host in self.hosts:
            state = self._try_state(host)
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

    def status(self) -> Status:
        """Per host: the serving slot, its version and container health, the other slot."""
        data: dict[str, dict] = {}
        rows: list[tuple[str, ...]] = []
        serving: Release | None = None
        for host in self.hosts:
            try:
                state = host.state()
            except CommandError as exc:
                data[host.name] = {"error": str(exc).splitlines()[0]}
                rows.append((host.name, "-", "-", data[host.name]["error"], ""))
                continue
            data[host.name] = state.to_dict()
            serving = serving or state.serving
            slot = state.slots.get(state.active or "")
            other = [
                f"{s.slot}: {s.status} {s.release.version if s.release else ''}".strip()
                for s in state.slots.values()
                if s.slot != state.active
            ]
            health = f"{slot.status} ({slot.health})" if slot else "-"
            nginx = "running" if state.nginx_running else "stopped"
            rows.append(
                (
                    host.name,
                    state.active or "-",
                    state.serving.version if state.serving else "-",
                    f"{health}, nginx {nginx}",
                    "; ".join(other),
                )
            )
        return Status(
            serving, ("Host", "Slot", "Version", "Container", "Other slot"), rows, data=data
        )

    def app_url(self) -> str | None:
        """None: the app's URL is the team's own (APP_URL: a load balancer, a domain)."""
        return None

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

    def run(
        self, release: Release, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> Run:
        """``docker run --rm`` of the release's image on the first host that answers, with
        the app's variables in a 0600 file (removed afterwards)."""
        variables = {**self.settings.app_environment(), **(env or {})}
        variables["APP_VERSION"] = release.version
        content = "".join(f"{k}={v}\n" for k, v in sorted(variables.items()))
        for host in self.hosts:
            try:
                layout = host.layout
            except CommandError as exc:
                say(f"– {host.name}: unreachable ({str(exc).splitlines()[0]}); trying the next")
                continue
            host.run(cmd.prepare(layout), quiet=True)
            host.run(cmd.pull(release.image, self.config.pull_registry), quiet=True)
            host.runner.put_secret_file(host.connection, content, layout.env_file("run"))
            script = cmd.run_once(layout, release.image, list(command), self.config.pull_registry)
            result = host.run(script, check=False)
            return Run(list(command), result.exit_code, result.stdout + result.stderr, host.name)
        raise ShipwrightError(f"no host answers: {', '.join(h.name for h in self.hosts)}")

    # -- housekeeping ---------------------------------------------------------------------
    def prune(self, needed: Iterable[str]) -> None:
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

        for name, result in on_each(self.hosts, one).items():
            if isinstance(result, Exception):
                say(f"– {name}: images not pruned: {str(result).splitlines()[0]}")
            elif result:
                say(f"– {name}: {result} unneeded image(s) removed")

    def close(self) -> None:
        for host in self.hosts:
            host.close()

    # -- internals ------------------------------------------------------------------------
    def _roll(self, release: Release, *, undo_on_failure: bool) -> Outcome:
        cmd.by_digest(release.image)  # by digest only: a ConfigError before anything runs
        app_env = self.settings.app_environment()
        runs = [HostRun(host, release) for host in self.hosts]
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
