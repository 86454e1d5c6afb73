"""Blue-green on one host: start the idle slot beside the serving one, wait until it is
ready, point nginx at it and check health through it -- or undo all of that.

Why two slots and one nginx per host: the new container is proven ready on its own
port before any request reaches it, the switch is an atomic file move plus a graceful
reload (in-flight requests finish on the old workers), and undo is the same switch in
the other direction while the old container is still running. The old colour keeps
running for the keep-warm period (DEPLOY_KEEP_WARM), so a rollback inside it is that
same switch too; after it, its stopped container is started again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from shipwright.domain import Release
from shipwright.errors import ConfigError, ShipwrightError
from shipwright.targets.compose_hosts import commands as cmd
from shipwright.targets.compose_hosts import nginx
from shipwright.targets.compose_hosts.hosts import Host, HostState, same_image

LOOPBACK = "127.0.0.1"


def env_file_content(app_env: dict[str, str], release: Release, port: int) -> str:
    """The app's environment for one slot (docker --env-file: KEY=VALUE, taken literally)."""
    values = dict(app_env)
    values.update(PORT=str(port), HOST=LOOPBACK, APP_VERSION=release.version)
    if release.git_sha:
        values["GIT_SHA"] = release.git_sha
    bad = sorted(k for k, v in values.items() if "\n" in v or "\r" in v)
    if bad:
        raise ConfigError(
            f"values of {', '.join(bad)} contain a newline: an env file cannot hold them"
        )
    return "".join(f"{k}={v}\n" for k, v in sorted(values.items()))


#: How a host gets to the release: a fresh container in the idle slot (``new``); the
#: idle slot runs it already, kept warm (``warm``: an nginx switch); the idle slot holds
#: it, stopped (``cold``: start it again); or the host serves it already (``serving``).
NEW, WARM, COLD, SERVING = "new", "warm", "cold", "serving"


@dataclass
class HostRun:
    """What one rollout did on one host; drives undo and the result table."""

    host: Host
    release: Release
    batch: int = 0
    before: HostState | None = None
    old_slot: str | None = None
    new_slot: str = cmd.SLOTS[0]
    mode: str = NEW
    started: bool = False  # a container this run created exists (undo removes it)
    woken: bool = False  # this run started the idle slot's stopped container (undo stops it)
    switched: bool = False  # nginx (maybe) points at the new slot
    ended: str = "unchanged"  # unchanged | switched | restored | broken
    detail: str = ""
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.host.name

    @property
    def previous(self) -> Release | None:
        return self.before.serving if self.before else None

    @property
    def serving_version(self) -> str:
        if self.ended == "switched":
            return self.release.version
        if self.ended in ("unchanged", "restored"):
            return self.previous.version if self.previous else "-"
        return "?"

    @property
    def serving_slot(self) -> str:
        if self.ended == "switched":
            return self.new_slot
        return self.old_slot or "-"

    def unit(self) -> str:
        """Where the host ended, for Outcome.units."""
        if self.ended == "broken":
            return f"broken: {self.detail}"
        text = f"{self.ended}: {self.serving_version} ({self.serving_slot})"
        return f"{text}; {self.detail}" if self.detail else text


class Switcher:
    """The steps on one host, each one remote script through the Runner. ``reuse``
    (rollbacks): a release the idle slot holds is switched to, not started anew."""

    def __init__(self, run: HostRun, app_env: dict[str, str], *, reuse: bool = False):
        self.r, self.app_env, self.reuse = run, app_env, reuse
        self.host, self.config = run.host, run.host.config

    def _timed(self, step: str, started: float) -> None:
        took = time.monotonic() - started
        self.r.steps[step] = self.r.steps.get(step, 0.0) + took
        self.r.seconds += took

    def inspect(self) -> None:
        """The host's state (read once under the lock when the target has it) and how
        this host gets to the release."""
        t = time.monotonic()
        self.r.before = self.host.known or self.host.state()
        self.host.known = None  # it changes from here on
        self.r.old_slot = self.r.before.active if self.r.previous else None
        self.r.new_slot = cmd.other_slot(self.r.old_slot)
        self.r.mode = self._mode(self.r.before)
        if self.r.mode == SERVING:
            self.r.new_slot, self.r.detail = self.r.old_slot or self.r.new_slot, "served it"
        self._timed("inspect", t)

    def _mode(self, state: HostState) -> str:
        previous, idle = state.serving, state.idle
        if not self.reuse or previous is None:
            return NEW
        if same_image(previous.image, self.r.release.image):
            return SERVING
        if idle is not None and idle.holds(self.r.release):
            if idle.status == "running":
                return WARM
            if idle.status in ("exited", "created"):
                return COLD
        return NEW

    def pull(self, registry_login: tuple[str, str, str] | None = None) -> None:
        t = time.monotonic()
        layout = self.host.layout
        pull = cmd.pull(self.r.release.image, self.config.pull_registry)
        if not self.config.pull_images:
            self.host.run(cmd.prepare(layout), quiet=True)
        elif registry_login:
            registry, user, password = registry_login
            self.host.run(cmd.prepare(layout), quiet=True)
            secret = f"{layout.base}/env/.registry-password"
            self.host.put_secret(password, secret)
            self.host.run(f"{cmd.login(registry, user, secret)} && {pull}", quiet=True)
        else:
            self.host.run(f"{cmd.prepare(layout)} && {pull}", quiet=True)
        self._timed("pull", t)

    def start(self) -> None:
        t = time.monotonic()
        layout, slot = self.host.layout, self.r.new_slot
        if self.r.mode == COLD:
            self.r.woken = True
            self.host.run(cmd.start_container(layout, slot), quiet=True)
        else:
            port = cmd.slot_port(slot, self.config.port)
            content = env_file_content(self.app_env, self.r.release, port)
            self.host.put_secret(content, layout.env_file(slot))
            self.r.started = True  # from here on a container may exist: undo removes it
            run = cmd.run_container(
                layout, self.r.release, slot, self.config.drain_seconds, self.config.pull_registry
            )
            self.host.run(f"{nginx.settled(layout)}; {run}", quiet=True)
        self._timed("start", t)

    def wait_ready(self) -> None:
        t = time.monotonic()
        slot = self.r.new_slot
        url = f"http://{LOOPBACK}:{cmd.slot_port(slot, self.config.port)}{self.config.ready_path}"
        result = self.host.run(
            cmd.wait_ready(self.host.layout, slot, url, self.config.ready_timeout),
            quiet=True,
            check=False,
            timeout=self.config.ready_timeout + 30,
        )
        self._timed("ready", t)
        if not result.ok:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-8:])
            raise ShipwrightError(
                f"{self.r.release.version} never became ready on slot {slot} "
                f"({self.config.ready_path})\n{tail}"
            )

    def switch(self) -> None:
        """nginx to the new slot, then the health gate through it: one script."""
        t = time.monotonic()
        slot = self.r.new_slot
        script = nginx.switch_and_gate(
            self.host.layout,
            slot,
            LOOPBACK,
            cmd.slot_port(slot, self.config.port),
            self.config.proxy_port,
            list(self.config.health_paths),
            keep_warm=self.config.keep_warm,
            bind=self.config.proxy_bind,
        )
        try:
            result = self.host.run(script, quiet=True, check=False, timeout=60)
        except BaseException:
            self.r.switched = True  # it may have: switching back is safe, the old slot runs
            raise
        finally:
            self._timed("switch", t)
        out = result.stdout.splitlines()
        self.r.switched = nginx.SWITCHING in out
        if not result.ok:
            said = [line for line in out if not line.startswith("@")] + [result.stderr.strip()]
            why = "health gate failed" if nginx.SWITCHED in out else "switch failed"
            raise ShipwrightError(f"{why}: {' '.join(x for x in said if x)[:300]}")

    def finish(self) -> None:
        """Without keep-warm: drain and stop the old slot now (SIGTERM; the app finishes
        in-flight requests). Its container stays, for a later rollback."""
        t = time.monotonic()
        if self.r.old_slot and self.r.mode != SERVING:
            layout = self.host.layout
            stop = cmd.stop_container(layout, self.r.old_slot, self.config.drain_seconds)
            self.host.run(f"{nginx.settled(layout)}; {stop}", quiet=True)
        self._timed("drain", t)

    def undo(self) -> None:
        """Back to how the host was: old slot serving, a new container gone, a woken one
        stopped again, a warm one left warm."""
        t = time.monotonic()
        layout, old = self.host.layout, self.r.old_slot
        if self.r.switched:
            if not old:
                self.r.ended = "broken"
                self.r.detail = (
                    f"no previous release to return to; {self.r.release.version} still serves"
                )
                self._timed("restore", t)
                return
            self._switch_to(old)
            self.r.switched = False
            self.r.ended = "restored"
        settled, drain = nginx.settled(layout), self.config.drain_seconds
        if self.r.started:
            remove = cmd.remove_container(layout, self.r.new_slot, drain)
            self.host.run(f"{settled}; {remove}", quiet=True)
            self.r.started = False
        if self.r.woken:
            stop = cmd.stop_container(layout, self.r.new_slot, drain)
            self.host.run(f"{settled}; {stop}", quiet=True)
            self.r.woken = False
        self._timed("restore", t)

    def _switch_to(self, slot: str) -> None:
        port = cmd.slot_port(slot, self.config.port)
        command = nginx.switch(
            self.host.layout,
            slot,
            LOOPBACK,
            port,
            self.config.proxy_port,
            keep_warm=self.config.keep_warm,
            bind=self.config.proxy_bind,
        )
        self.host.run(command, quiet=True, timeout=60)
