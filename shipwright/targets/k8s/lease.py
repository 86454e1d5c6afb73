"""The deploy lock as a ``coordination.k8s.io/v1`` Lease in the namespace.

Why a Lease: it is the API's own lock object (holder, acquire time, duration, renew
time; ``kubectl get lease`` shows who deploys). Taken atomically: a create that fails
with 409 when another exists, or a replace carrying the resourceVersion that was read
(409 when someone else changed it in between) -- so of two deploys exactly one wins.
The holder renews it while it deploys; a run that died stops renewing, and once the
duration has passed its Lease can be taken over (or broken at once with --break-lock).
Release clears the holder the same atomic way, and only when it is still ours.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from shipwright.lock import LockInfo
from shipwright.output import say
from shipwright.redact import redact_obj
from shipwright.retry import retry
from shipwright.targets.k8s.bind import ENV_LABEL, MANAGED
from shipwright.targets.k8s.client import Conflict, Kube

API, KIND = "coordination.k8s.io/v1", "Lease"
INFO = "shipwright.io/lock"


def micro_time(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def expired(lease: dict[str, Any], now: datetime | None = None) -> bool:
    spec = lease.get("spec") or {}
    renewed = _parse(spec.get("renewTime")) or _parse(spec.get("acquireTime"))
    duration = spec.get("leaseDurationSeconds") or 0
    if renewed is None or not duration:
        return False
    return (now or datetime.now(UTC)) > renewed + timedelta(seconds=duration)


class LeaseLockStore:
    """A LockStore (shipwright.lock) on a Lease named ``shipwright-deploy-<env>``."""

    def __init__(self, kube: Kube, duration: int):
        self.kube, self.duration = kube, duration
        self._renewers: dict[str, tuple[threading.Event, threading.Thread]] = {}

    @staticmethod
    def name(environment: str) -> str:
        return f"shipwright-deploy-{environment}"

    def create(self, info: LockInfo) -> LockInfo | None:
        env = info.environment
        lease = self.kube.get(API, KIND, self.name(env))
        try:
            if lease is None:
                self.kube.create(self._body(info))
            elif not (lease.get("spec") or {}).get("holderIdentity") or expired(lease):
                body = self._body(info)
                body["metadata"]["resourceVersion"] = lease["metadata"]["resourceVersion"]
                self.kube.replace(body)
            else:
                return self._info(lease, env)
        except Conflict:  # someone else was faster
            return self.read(env) or LockInfo(env, holder="unknown", since="", token="")
        self._renew_while_held(info)
        return None

    def read(self, environment: str) -> LockInfo | None:
        lease = self.kube.get(API, KIND, self.name(environment))
        if lease is None or not (lease.get("spec") or {}).get("holderIdentity"):
            return None
        return self._info(lease, environment)

    def delete(self, environment: str, token: str | None = None) -> None:
        """Clear the holder (with the resourceVersion read: never someone else's)."""
        self._stop_renewing(environment)

        def clear() -> None:
            lease = self.kube.get(API, KIND, self.name(environment))
            if lease is None or not (lease.get("spec") or {}).get("holderIdentity"):
                return
            if token is not None and self._info(lease, environment).token != token:
                return  # not ours (any more)
            lease["spec"] = {"leaseDurationSeconds": self.duration}
            lease["metadata"].get("annotations", {}).pop(INFO, None)
            self.kube.replace(lease)

        retry(clear, retry_on=(Conflict,), attempts=3, backoff=0.2)

    def close(self) -> None:
        for environment in list(self._renewers):
            self._stop_renewing(environment)

    # -- internals ------------------------------------------------------------------------
    def _body(self, info: LockInfo) -> dict[str, Any]:
        now = micro_time()
        return {
            "apiVersion": API,
            "kind": KIND,
            "metadata": {
                "name": self.name(info.environment),
                "namespace": self.kube.namespace,
                "labels": {**MANAGED, ENV_LABEL: info.environment},
                "annotations": {INFO: json.dumps(info.to_dict(), sort_keys=True)},
            },
            "spec": {
                "holderIdentity": info.holder,
                "leaseDurationSeconds": self.duration,
                "acquireTime": now,
                "renewTime": now,
            },
        }

    @staticmethod
    def _info(lease: dict[str, Any], environment: str) -> LockInfo:
        raw = (lease["metadata"].get("annotations") or {}).get(INFO)
        spec = lease.get("spec") or {}
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        data = {
            "holder": spec.get("holderIdentity", "unknown"),
            "since": spec.get("acquireTime", ""),
            **redact_obj(data),
            "environment": environment,
        }
        if expired(lease):
            data["reason"] = (data.get("reason", "") + " — lease expired: that run is gone").strip()
        return LockInfo.from_dict(data)

    def _renew_while_held(self, info: LockInfo) -> None:
        stop = threading.Event()
        thread = threading.Thread(
            target=self._renew, args=(info, stop), name=f"lease-{info.environment}", daemon=True
        )
        self._renewers[info.environment] = (stop, thread)
        thread.start()

    def _renew(self, info: LockInfo, stop: threading.Event) -> None:
        while not stop.wait(max(1.0, self.duration / 3)):
            try:
                lease = self.kube.get(API, KIND, self.name(info.environment))
                if lease is None or self._info(lease, info.environment).token != info.token:
                    say(f"✘ the deploy Lease of {info.environment!r} is no longer ours", err=True)
                    return
                lease["spec"]["renewTime"] = micro_time()
                self.kube.replace(lease)
            except Exception as exc:  # noqa: BLE001 - keep renewing; say it once per failure
                say(f"– could not renew the deploy Lease: {exc}", err=True)

    def _stop_renewing(self, environment: str) -> None:
        entry = self._renewers.pop(environment, None)
        if entry:
            entry[0].set()
            entry[1].join(timeout=5)
