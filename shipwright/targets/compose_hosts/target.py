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
from shipwright.targets.compose_hosts import nginx
from shipwright.targets.compose_hosts.config import ComposeConfig
from shipwright.targets.compose_hosts.hosts import (
    Host,
    HostState,
    hosts_for,
    on_each,
    parse_state,
)
from shipwright.targets.compose_hosts.plan import build_plan
from shipwright.targets.compose_hosts.rollout import Hook, Rollout
from shipwright.targets.compose_hosts.storage import HostLedgerStore, HostLockStore, unreachable
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
        hosts: list[Host] | None = None,
    ):
        self.settings = settings
        self.config = config or ComposeConfig.from_settings(settings)
        self.runner = runner or Runner()
        self.hook = hook
        self.hosts: list[Host] = hosts if hosts is not None else hosts_for(self.config, self.runner)

    # -- storage for the flow -----------------------------------------------------------
    def lock_store(self) -> HostLockStore:
        return HostLockStore(self.hosts, on_taken=self._forget)

    def ledger_store(self) -> HostLedgerStore:
        return HostLedgerStore(self.hosts)

    # -- Target protocol ------------------------------------------------------------------
    def connect(self) -> None:
        """Every host's SSH connection, opened at once; a host that does not answer is
        reported where it is first needed."""
        on_each(self.hosts, lambda host: host.open())

    def plan(self, release: Release, action: str = "deploy") -> Plan:
        """Commands per host; the hosts' serving slots are read first (read-only; a host
        that does not answer is planned as "blue or green")."""
        states = self._states()
        layouts = {h.name: h.layout for h in self.hosts}
        serving = {
            name: state.active if isinstance(state, HostState) and state.serving else None
            for name, state in states.items()
        }
        return build_plan(release, self.config, layouts, serving, action)

    def deploy(self, release: Release) -> Outcome:
        """Roll ``release`` out; on failure or Ctrl-C every switched host goes back."""
        return self._roll(release, undo_on_failure=True)

    def rollback(self, to: Release) -> Outcome:
        """Same blue-green path towards ``to``; hosts already on ``to`` stay there if a
        later host fails (going back to the bad release helps nobody)."""
        return self._roll(to, undo_on_failure=False)

    def verify(self, release: Release) -> Checks:
        """Per host, at once: it serves ``release``, and the health paths answer through
        its nginx (one script each)."""
        paths = list(self.config.health_paths)

        def one(host: Host) -> tuple[HostState, bool, str]:
            script = cmd.verify(host.layout, self.config.proxy_port, paths, self.config.proxy_bind)
            result = host.read(script, check=False)
            state_text, _, health = result.stdout.partition(f"\n{cmd.MARK}\n")
            return parse_state(state_text), result.ok, health.strip()

        checks = Checks()
        results = on_each(self.hosts, one)
        for host in self.hosts:
            answer = results[host.name]
            if isinstance(answer, Exception):
                checks.items.append(Check(f"{host.name}: reachable", False, str(answer)))
                continue
            state, healthy, detail = answer
            version = state.serving.version if state.serving else None
            checks.items.append(
                Check(
                    f"{host.name}: serves {release.version}",
                    version == release.version,
                    f"serving {version or 'nothing'} on slot {state.active or '-'}",
                )
            )
            checks.items.append(
                Check(f"{host.name}: {', '.join(paths)} via nginx", healthy, detail)
            )
        return checks

    def current(self) -> Release | None:
        """What the first host that answers serves. Every host's state is read at once;
        read under the deploy lock, it is what the rollout that follows starts from
        (taking the lock forgets whatever was read before)."""
        states = self._states()
        for host in self.hosts:
            state = states[host.name]
            host.known = state if isinstance(state, HostState) else None
        return next((s.serving for s in states.values() if isinstance(s, HostState)), None)

    def status(self) -> Status:
        """Per host: the serving slot, its version and container health, the other slot
        (and how long it stays warm)."""
        data: dict[str, dict] = {}
        rows: list[tuple[str, ...]] = []
        serving: Release | None = None
        states = self._states()
        for host in self.hosts:
            state = states[host.name]
            if not isinstance(state, HostState):
                data[host.name] = {"error": str(state).splitlines()[0]}
                rows.append((host.name, "-", "-", data[host.name]["error"], ""))
                continue
            data[host.name] = state.to_dict()
            serving = serving or state.serving
            slot = state.slots.get(state.active or "")
            warm = f" (warm {state.warm_seconds // 60} min more)" if state.warm_seconds else ""
            other = [
                f"{s.slot}: {s.status} {s.release.version if s.release else ''}".strip() + warm
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
            layout = host.layout
            pull = cmd.pull(release.image, self.config.pull_registry)
            pull = pull if self.config.pull_images else "true"
            try:
                host.run(f"{cmd.prepare(layout)} && {pull}", quiet=True)
            except CommandError as exc:
                if not unreachable(exc):
                    raise
                say(f"– {host.name}: unreachable ({str(exc).splitlines()[0]}); trying the next")
                continue
            host.put_secret(content, layout.env_file("run"))
            script = cmd.run_once(layout, release.image, list(command), self.config.pull_registry)
            result = host.run(script, check=False)
            return Run(list(command), result.exit_code, result.stdout + result.stderr, host.name)
        raise ShipwrightError(f"no host answers: {', '.join(h.name for h in self.hosts)}")

    # -- housekeeping ---------------------------------------------------------------------
    def prune(self, needed: Iterable[str]) -> None:
        """Per host, one script: stop the colour out of traffic once its keep-warm time
        has passed (its container stays, as a later rollback's), then remove this app's
        pulled images the ledger no longer needs (docker keeps any a container uses)."""
        registry = self.config.pull_registry
        keep = sorted({cmd.pull_reference(i, registry) for i in needed if "@" in i})
        repos = sorted({ref.split("@", 1)[0] for ref in keep})

        def one(host: Host) -> str:
            layout = host.layout
            script = f"{nginx.stop_cold(layout, self.config.drain_seconds)}; "
            script += cmd.remove_images(repos, keep) if repos else "echo removed 0"
            return host.run(script, quiet=True).stdout

        for name, result in on_each(self.hosts, one).items():
            if isinstance(result, Exception):
                say(f"– {name}: not pruned: {str(result).splitlines()[0]}")
                continue
            for line in result.splitlines():
                if line.startswith("stopped "):
                    say(f"– {name}: {line.split()[1]} stopped (its keep-warm time is over)")
                elif line.startswith("removed ") and line != "removed 0":
                    say(f"– {name}: {line.split()[1]} unneeded image(s) removed")

    def close(self) -> None:
        for host in self.hosts:
            host.close()

    # -- internals ------------------------------------------------------------------------
    def _roll(self, release: Release, *, undo_on_failure: bool) -> Outcome:
        """A rollback (``undo_on_failure`` off) reuses what the idle slots hold."""
        cmd.by_digest(release.image)  # by digest only: a ConfigError before anything runs
        app_env = self.settings.app_environment()
        runs = [HostRun(host, release) for host in self.hosts]
        rollout = Rollout(
            [Switcher(r, app_env, reuse=not undo_on_failure) for r in runs],
            batch_size=self.config.batch_size,
            undo_on_failure=undo_on_failure,
            hook=self.hook,
            registry_login=self._registry_login(release),
            keep_warm=self.config.keep_warm > 0,
        )
        try:
            return rollout.run().outcome(release)
        finally:
            self._forget()

    def _registry_login(self, release: Release) -> tuple[str, str, str] | None:
        user, password = self.config.registry_user, self.config.registry_password
        if not (user and password):
            return None
        return (
            registry_of(cmd.repository_of(release.image, self.config.pull_registry)),
            user,
            password,
        )

    def _states(self) -> dict[str, HostState | CommandError]:
        """Every host's state, read at once; a host that does not answer, as its error."""
        states = on_each(self.hosts, lambda host: host.state())
        for state in states.values():
            if isinstance(state, Exception) and not isinstance(state, CommandError):
                raise state
        return states  # type: ignore[return-value]

    def _forget(self) -> None:
        for host in self.hosts:
            host.known = None
