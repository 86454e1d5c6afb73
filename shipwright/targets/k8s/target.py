"""The Kubernetes target (DEPLOY_TARGET=k8s): the repository's kustomize overlay, bound
to the release and server-side applied with the official client; watched as
``kubectl rollout status`` judges it, failing fast on pods that never heal; rolling or
blue-green; the lock a Lease and the ledger ConfigMaps in the namespace.

It knows nothing of the rules of the lock or the ledger: the flow composes lock ->
deploy -> verify -> watch -> record and calls :meth:`prune` after a good watch (where
blue-green scales the old colour down).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property

from shipwright.domain import Check, Checks, Outcome, Plan, Release, Run, Status
from shipwright.errors import ConfigError, ShipwrightError
from shipwright.image.reference import ImageRef
from shipwright.output import say
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.k8s import inspect, judge
from shipwright.targets.k8s.apply import Applier
from shipwright.targets.k8s.bind import Bound, bind
from shipwright.targets.k8s.bluegreen import BlueGreen
from shipwright.targets.k8s.client import Kube
from shipwright.targets.k8s.config import K8sConfig
from shipwright.targets.k8s.context import Context
from shipwright.targets.k8s.jobs import job_for, run_job
from shipwright.targets.k8s.lease import LeaseLockStore
from shipwright.targets.k8s.ledger import ConfigMapLedgerStore, TemplateStore
from shipwright.targets.k8s.probe import service_health
from shipwright.targets.k8s.prune import prune
from shipwright.targets.k8s.render import Manifest, kustomize
from shipwright.targets.k8s.rolling import Rolling

#: Stands in for a release where only the shape of the objects matters (names).
SHAPE = Release("shape", "shape", "shape@sha256:" + "0" * 64)


class K8sTarget:
    name = "k8s"

    def __init__(self, settings: Settings, runner: Runner | None = None, *, client=None):
        self.settings = settings
        self.runner = runner or Runner()
        self.cfg = K8sConfig.from_settings(settings)
        self._client = client
        self._lease: LeaseLockStore | None = None

    # -- what the repository renders ------------------------------------------------------
    @cached_property
    def manifests(self) -> list[Manifest]:
        return kustomize(self.cfg, self.runner)

    def bound(self, release: Release, *, strict_refs: bool = True) -> Bound:
        return bind(self.manifests, release, self.settings, self.cfg, strict_refs=strict_refs)

    @cached_property
    def shape(self) -> Bound:
        """Names only (Deployment, Service, namespace): no settings checks."""
        return self.bound(SHAPE, strict_refs=False)

    # -- the cluster ------------------------------------------------------------------------
    @cached_property
    def kube(self) -> Kube:
        return Kube(self.cfg, self.shape.namespace, self._client)

    @cached_property
    def ctx(self) -> Context:
        templates = TemplateStore(self.kube, self.shape.deployment.name, self.cfg.environment)
        applier = Applier(self.kube, self.runner, templates)
        return Context(self.kube, self.runner, self.cfg, self.settings, applier, templates)

    @cached_property
    def strategy(self) -> Rolling | BlueGreen:
        return BlueGreen(self.ctx) if self.cfg.bluegreen else Rolling(self.ctx)

    def lock_store(self) -> LeaseLockStore:
        if self._lease is None:
            self._lease = LeaseLockStore(self.kube, self.cfg.lock_seconds)
        return self._lease

    def ledger_store(self) -> ConfigMapLedgerStore:
        return ConfigMapLedgerStore(self.kube)

    # -- Target protocol --------------------------------------------------------------------
    def plan(self, release: Release, action: str = "deploy") -> Plan:
        """The API calls, in order; reads what serves (and the serving colour)."""
        ns = self.shape.namespace
        if action == "rollback":
            source = f"the stored template of {release.version} (ConfigMap in {ns})"
        else:
            bound = self.bound(release)
            keys = len((bound.secret.obj.get("data") if bound.secret else None) or {})
            source = (
                f"{self.cfg.overlay_shown} (kubectl kustomize) bound to "
                f"{ImageRef.parse(release.image).by_digest()}; Secret "
                f"{bound.secret_name or '-'} with {keys} keys from the settings "
                "(values never shown)"
            )
        try:
            serving = self.current()
            active = self.strategy.active(self.shape) if self.cfg.bluegreen else None
        except ShipwrightError as exc:
            serving, active = None, None
            source += f"; the cluster could not be read: {str(exc).splitlines()[0]}"
        name = self.shape.deployment.name
        steps = [f"take {action}'s objects from {source}"]
        steps.append(f"server-side apply the release template, ConfigMap, Secret in {ns}")
        if self.cfg.bluegreen:
            new = "green" if active == "blue" else "blue"
            steps += [
                f"server-side apply Deployment/{name}-{new} and Service/"
                f"{self.shape.service.name}-preview (serving now: {active or 'nothing'})",
                f"wait for every replica of {name}-{new} (rollout status, fail fast on pod errors)",
                "check the preview Service's health paths through the API's service proxy"
                + (
                    f" and the smoke suite on {self.cfg.preview_url}"
                    if self.cfg.preview_url
                    else ""
                ),
                f"switch Service/{self.shape.service.name} to shipwright.io/color={new}",
                f"after the watch: scale Deployment/{name}-{active or 'other'} to 0",
            ]
        else:
            steps += [
                f"server-side apply Deployment/{name} (rolling update; serving now: "
                f"{serving.version if serving else 'nothing'})",
                "wait as kubectl rollout status judges it; fail fast on ImagePullBackOff, "
                "CrashLoopBackOff, CreateContainerConfigError, OOMKilled, readiness",
                f"on failure: apply the template of {serving.version if serving else '-'} again",
            ]
        return Plan(self.name, release, steps)

    def deploy(self, release: Release) -> Outcome:
        bound = self.bound(release)
        for note in bound.notes:
            say(f"– {note}")
        return self.strategy.deploy(release, bound, self.current())

    def rollback(self, to: Release) -> Outcome:
        try:
            return self.strategy.rollback(to)
        except ConfigError:
            raise
        except ShipwrightError as exc:
            return Outcome(
                False,
                to,
                str(exc),
                units={f"deployment/{self.shape.deployment.name}": f"broken: {exc}"},
            )

    def verify(self, release: Release) -> Checks:
        checks = Checks()
        serving = self.current()
        checks.items.append(
            Check(
                f"k8s: {self.kube.namespace} serves {release.version}",
                serving is not None and serving.version == release.version,
                f"serving {serving.version if serving else 'nothing'}",
            )
        )
        name = self._serving_deployment()
        live = self.kube.get("apps/v1", "Deployment", name) if name else None
        verdict = judge.rollout_status(live) if live else None
        checks.items.append(
            Check(
                f"k8s: deployment/{name} rolled out",
                bool(verdict and verdict.done),
                verdict.message if verdict else "no deployment",
            )
        )
        service = (
            self.kube.get("v1", "Service", self.shape.service.name) if self.shape.service else None
        )
        if service is not None:
            checks.items += service_health(
                self.kube,
                service,
                self.settings.items_list("HEALTH_PATHS") or ["/readyz"],
                deadline=min(30.0, self.settings.number("DEPLOY_READY_TIMEOUT")),
                version=release.version,
            ).items
        return checks

    def current(self) -> Release | None:
        return self.strategy.serving(self.shape)

    def status(self) -> Status:
        base = self.shape.deployment.name
        names = [f"{base}-blue", f"{base}-green"] if self.cfg.bluegreen else [base]
        return inspect.status(self.ctx, names, self.current())

    def connect(self) -> None:
        """Nothing up front: clients connect on their first call."""

    def app_url(self) -> str | None:
        """None: the app's URL is the team's own (APP_URL: an Ingress, a load balancer)."""
        return None

    def logs(self, follow: bool = False, since: str | None = None) -> None:
        name = self._serving_deployment()
        if name is None:
            raise ShipwrightError(f"nothing serves in {self.kube.namespace}: no logs to show")
        inspect.logs(self.ctx, name, follow, since)

    def run(
        self, release: Release, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> Run:
        """A Job from the serving Deployment's pod template in ``release``'s image."""
        name = self._serving_deployment()
        live = self.kube.get("apps/v1", "Deployment", name) if name else None
        if live is None:
            raise ConfigError(
                f"nothing is deployed in {self.kube.namespace}: a Job takes the Deployment's "
                "pod template, so deploy a release first"
            )
        return run_job(self.ctx, job_for(self.ctx, live, release, command, env), command)

    def prune(self, needed: Iterable[str]) -> None:
        self.strategy.after_watch(self.shape)
        prune(self.ctx, list(needed))

    def close(self) -> None:
        if self._lease is not None:
            self._lease.close()
        if "kube" in self.__dict__:
            self.kube.close()

    # -- internals --------------------------------------------------------------------------
    def _serving_deployment(self) -> str | None:
        base = self.shape.deployment.name
        if not self.cfg.bluegreen:
            return base
        active = self.strategy.active(self.shape)
        return f"{base}-{active}" if active else None
