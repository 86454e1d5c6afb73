"""K8S_STRATEGY=bluegreen: two Deployments (``<name>-blue``, ``<name>-green``) and the
main Service's selector choosing one.

A deploy brings the new colour up beside the serving one, waits until all its replicas
are ready, checks it through a preview Service (health paths via the API's service
proxy; the smoke suite on K8S_PREVIEW_URL when set), and only then switches the main
Service's selector -- one API call. The old colour stays scaled up through the flow's
verify and watch (rolling back is that one call the other way) and is scaled down when
the flow prunes after a good watch. A new colour that fails before the switch is scaled
to zero (its pods' logs were printed); users never reached it.
"""

from __future__ import annotations

import time

from shipwright.checks import smoke
from shipwright.domain import Outcome, Release
from shipwright.errors import ConfigError, ShipwrightError
from shipwright.output import status
from shipwright.targets.k8s.bind import COLOR, Bound, colour
from shipwright.targets.k8s.context import Context
from shipwright.targets.k8s.probe import service_health

COLORS = ("blue", "green")


def other(color: str | None) -> str:
    return "green" if color == "blue" else "blue"


class BlueGreen:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def active(self, bound: Bound) -> str | None:
        """The colour the main Service selects now (None: no Service yet)."""
        if bound.service is None:
            return None
        live = self.ctx.kube.get("v1", "Service", bound.service.name)
        color = ((live or {}).get("spec") or {}).get("selector", {}).get(COLOR)
        return color if color in COLORS else None

    def serving(self, bound: Bound) -> Release | None:
        color = self.active(bound)
        return self.ctx.release_in(f"{bound.deployment.name}-{color}") if color else None

    def deploy(self, release: Release, bound: Bound, previous: Release | None) -> Outcome:
        """``previous`` keeps serving until the switch, the last call: an API error
        before it leaves the main Service as it was."""
        try:
            return self._release(release, bound)
        except ConfigError:
            raise
        except ShipwrightError as exc:
            unit = f"service/{bound.service.name if bound.service else '-'}"
            return Outcome(False, release, str(exc), units={unit: "unchanged: not switched"})

    def rollback(self, to: Release) -> Outcome:
        """One selector switch when the other colour still runs ``to`` and is ready;
        else ``to``'s template goes onto the other colour first."""
        bound = self.ctx.templates.load(to.version)
        active = self.active(bound)
        back = other(active)
        name = f"{bound.deployment.name}-{back}"
        held = self.ctx.release_in(name)
        if active and held and held.version == to.version and self.ctx.ready(name):
            self.ctx.applier.select(bound.service.name, back)
            return Outcome(
                True,
                to,
                units={f"service/{bound.service.name}": f"switched: {to.version} ({back})"},
            )
        return self._release(to, bound)

    def after_watch(self, bound: Bound) -> None:
        """The watch passed: scale the colour that no longer serves down (kept, not
        deleted: its Deployment and history stay)."""
        active = self.active(bound)
        if active is None:
            return
        name = f"{bound.deployment.name}-{other(active)}"
        live = self.ctx.kube.get("apps/v1", "Deployment", name)
        if live and (live.get("spec") or {}).get("replicas"):
            self.ctx.applier.scale(name, 0)

    def _release(self, release: Release, bound: Bound) -> Outcome:
        phases: dict[str, float] = {}
        active = self.active(bound)
        new = other(active)
        coloured = colour(bound, new, active or new)
        name = coloured.deployment.name
        service = coloured.service.name
        began = time.monotonic()
        self.ctx.applier.prepare(release, coloured, template=bound)
        self.ctx.applier.apply(coloured.deployment)
        self.ctx.applier.apply(coloured.preview)
        phases["apply"] = round(time.monotonic() - began, 3)
        began = time.monotonic()
        failure = self._ready_and_checked(release, coloured)
        phases["preview"] = round(time.monotonic() - began, 3)
        if failure:
            self.ctx.applier.scale(name, 0)
            where = f"{active} still serves" if active else "nothing served before"
            units = {f"service/{service}": f"unchanged: {where}; {name} scaled to 0"}
            return Outcome(False, release, failure, phases, units)
        began = time.monotonic()
        if active:
            self.ctx.applier.select(service, new)
        else:
            self.ctx.applier.apply(coloured.service)  # first deploy: the Service itself
        phases["switch"] = round(time.monotonic() - began, 3)
        units = {f"service/{service}": f"switched: {release.version} ({new})"}
        if active:
            units[f"deployment/{bound.deployment.name}-{active}"] = "kept: scaled up for the watch"
        return Outcome(True, release, phases=phases, units=units)

    def _ready_and_checked(self, release: Release, coloured: Bound) -> str:
        """Why the new colour must not get traffic ("" when it may)."""
        try:
            watched = self.ctx.wait(coloured.deployment.name)
        except KeyboardInterrupt:
            return "interrupted"
        if not watched.ok:
            return watched.message
        if self.ctx.runner.dry_run:
            return ""
        preview = self.ctx.kube.get("v1", "Service", coloured.preview.name)
        if preview is None:
            return f"the preview Service {coloured.preview.name} does not exist"
        checks = service_health(
            self.ctx.kube,
            preview,
            self.ctx.settings.items_list("HEALTH_PATHS") or ["/readyz"],
            deadline=self.ctx.settings.number("DEPLOY_READY_TIMEOUT"),
            version=release.version,
        )
        url = self.ctx.cfg.preview_url
        if url:
            variables = {"version": release.version}
            checks.items += smoke.smoke_from_settings(
                self.ctx.settings, url, variables=variables
            ).items
        for check in checks:
            status(
                check.ok, f"preview: {check.name}" + (f" — {check.detail}" if check.detail else "")
            )
        failed = [c.name for c in checks if not c.ok]
        return f"preview checks failed: {', '.join(failed)}" if failed else ""
