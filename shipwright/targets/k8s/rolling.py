"""K8S_STRATEGY=rolling: the Deployment's own rolling update (maxUnavailable 0 in the
base manifests: a serving pod goes only once its replacement is ready).

A failed rollout is undone by applying the previous release's stored template and
waiting for it -- the previous *good* release, as the ledger and the templates know it,
not ``kubectl rollout undo``'s previous ReplicaSet. Nothing is deleted: the failed
ReplicaSet is scaled down by the Deployment controller, its history stays.
"""

from __future__ import annotations

import time

from shipwright.domain import Outcome, Release
from shipwright.errors import ConfigError, ShipwrightError
from shipwright.output import say
from shipwright.targets.k8s.bind import Bound
from shipwright.targets.k8s.context import Context


class Rolling:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def serving(self, bound: Bound) -> Release | None:
        return self.ctx.release_in(bound.deployment.name)

    def deploy(self, release: Release, bound: Bound, previous: Release | None) -> Outcome:
        unit = f"deployment/{bound.deployment.name}"
        try:
            outcome = self._roll(release, bound)
        except ConfigError:
            raise
        except ShipwrightError as exc:  # an API call failed: the Deployment may have changed
            outcome = Outcome(False, release, str(exc), units={unit: f"failed: {release.version}"})
        if outcome.ok:
            return outcome
        if previous is None:
            outcome.units = {
                unit: "unchanged: nothing served before; the failed pods are kept for their logs"
            }
            return outcome
        say(f"↩ {release.version} did not roll out: back to {previous.version}")
        began = time.monotonic()
        try:
            back = self._roll(previous, self.ctx.templates.load(previous.version))
        except (ShipwrightError, KeyboardInterrupt) as exc:
            back = Outcome(False, previous, f"{type(exc).__name__}: {exc}")
        outcome.phases["restore"] = round(time.monotonic() - began, 3)
        if back.ok:
            outcome.restored = True
            outcome.units = {unit: f"restored: {previous.version}"}
        else:
            outcome.units = {unit: f"broken: {previous.version} did not come back"}
            outcome.message += f"; restoring {previous.version} failed: {back.message}"
        return outcome

    def rollback(self, to: Release) -> Outcome:
        """Apply ``to``'s stored template and wait (an API error raises: the target
        reports it as broken)."""
        bound = self.ctx.templates.load(to.version)
        outcome = self._roll(to, bound)
        if not outcome.ok:
            outcome.units = {f"deployment/{bound.deployment.name}": f"broken: {outcome.message}"}
        return outcome

    def after_watch(self, bound: Bound) -> None:
        """Nothing to scale down: the rolling update already replaced the old pods."""

    def _roll(self, release: Release, bound: Bound) -> Outcome:
        phases: dict[str, float] = {}
        began = time.monotonic()
        name = bound.deployment.name
        unit = f"deployment/{name}"
        self.ctx.applier.prepare(release, bound)
        self.ctx.applier.apply(bound.deployment)
        if bound.service:
            self.ctx.applier.apply(bound.service)
        phases["apply"] = round(time.monotonic() - began, 3)
        began = time.monotonic()
        try:
            watched = self.ctx.wait(name)
        except KeyboardInterrupt:
            watched = None
        phases["rollout"] = round(time.monotonic() - began, 3)
        if watched is None:
            return Outcome(
                False, release, "interrupted", phases, {unit: f"failed: {release.version}"}
            )
        if not watched.ok:
            return Outcome(
                False, release, watched.message, phases, {unit: f"failed: {release.version}"}
            )
        return Outcome(True, release, phases=phases, units={unit: f"switched: {release.version}"})
