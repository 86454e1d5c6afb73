"""The test-side kubelet: moves every pod's status the way a node would for the image it
runs, and answers what the API server asks of a pod (logs, service-proxy requests).

Images are known from a catalogue -- image reference (by digest) -> :class:`Image`, what
that image does when it runs: ``ok`` (ready after ``ready_after`` s; /health reports
APP_VERSION), ``crash`` (exits 1, restarts, CrashLoopBackOff), ``oom`` (OOMKilled),
``unready`` (runs, readiness fails), ``sick`` (ready, but /health answers 503),
``pending`` (never scheduled). An image not in the catalogue cannot be pulled
(ErrImagePull, then ImagePullBackOff). A secretKeyRef/configMapKeyRef (or envFrom) to a
missing object or key stops the container at CreateContainerConfigError, as a real
kubelet does. Pods of a Job run their container's command as a local process with the
environment the pod spec resolves to (values, ConfigMaps, Secrets): a real exit code
and real output, without an image's filesystem -- probes and resource limits are not
enforced, restarts and back-offs are shortened to fractions of a second.
"""

from __future__ import annotations

import base64
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .store import Store, now

BACKOFF = 0.3


@dataclass(frozen=True)
class Image:
    behaviour: str = "ok"
    logs: tuple[str, ...] = ("listening on :3000",)
    ready_after: float = 0.1


@dataclass
class _Life:
    started: float = field(default_factory=time.monotonic)
    attempt: int = 0
    phase_since: float = field(default_factory=time.monotonic)
    running: bool = False
    job: threading.Thread | None = None


class Kubelet:
    def __init__(self, store: Store):
        self.store = store
        self.catalogue: dict[str, Image] = {}
        self._lives: dict[str, _Life] = {}
        self._logs: dict[tuple[str, str], list[str]] = {}  # (pod uid, container) -> attempts
        self._exit: dict[tuple[str, str], int] = {}  # a Job pod's exit code

    # -- what the API server asks --------------------------------------------------------------
    def log(self, ns: str, pod: str, container: str | None, previous: bool) -> str:
        obj = self.store.get("Pod", ns, pod)
        name = container or obj["spec"]["containers"][0]["name"]
        attempts = self._logs.get((obj["metadata"]["uid"], name), [])
        if previous:
            return attempts[-2] if len(attempts) > 1 else ""
        return attempts[-1] if attempts else ""

    def answer(self, pod: dict[str, Any], path: str) -> tuple[int, Any]:
        image = self._image(pod)
        version = self._env(pod, pod["spec"]["containers"][0]).get("APP_VERSION", "dev")
        if path == "/health":
            if image and image.behaviour == "sick":
                return 503, {"status": "unhealthy", "version": version}
            return 200, {"status": "ok", "version": version}
        if path in ("/livez", "/readyz"):
            return 200, {"status": "ok"}
        if path in ("/", "/version"):
            return 200, {"version": version}
        return 404, {"error": "not found"}

    # -- one tick --------------------------------------------------------------------------
    def tick(self) -> None:
        for pod in self.store.list("Pod", None):
            life = self._lives.setdefault(pod["metadata"]["uid"], _Life())
            status = self._status(pod, life)
            if status is not None and status != pod.get("status"):
                pod["status"] = status
                try:
                    self.store.replace(
                        "Pod",
                        pod["metadata"]["namespace"],
                        pod["metadata"]["name"],
                        pod,
                        status=True,
                    )
                except Exception:  # noqa: BLE001 - deleted meanwhile
                    pass

    def _status(self, pod: dict, life: _Life) -> dict | None:
        container = pod["spec"]["containers"][0]
        cname = container["name"]
        image = self._image(pod)
        key = (pod["metadata"]["uid"], cname)
        base = {"phase": "Pending", "startTime": pod["status"].get("startTime") or now()}
        if image and image.behaviour == "pending":
            return {
                **base,
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": "0/3 nodes are available: 3 Insufficient cpu.",
                    }
                ],
            }
        waiting = self._cannot_start(pod, container, image, life)
        if waiting:
            return {**base, "containerStatuses": [_cs(cname, container, {"waiting": waiting})]}
        if _owned_by(pod, "Job"):
            return self._job(pod, container, life, key, base)
        return self._service(pod, container, image, life, key, base)

    def _cannot_start(self, pod, container, image, life) -> dict | None:
        if image is None:
            elapsed = time.monotonic() - life.started
            reason = "ErrImagePull" if elapsed < BACKOFF else "ImagePullBackOff"
            message = (
                f'Failed to pull image "{container["image"]}": not found'
                if reason == "ErrImagePull"
                else f'Back-off pulling image "{container["image"]}"'
            )
            return {"reason": reason, "message": message}
        missing = self._missing_ref(pod, container)
        if missing:
            return {"reason": "CreateContainerConfigError", "message": missing}
        return None

    def _service(self, pod, container, image, life, key, base) -> dict:
        cname = container["name"]
        elapsed = time.monotonic() - life.phase_since
        restarts = life.attempt
        if image.behaviour in ("crash", "oom"):
            if not life.running and (life.attempt == 0 or elapsed > BACKOFF):
                life.running, life.phase_since = True, time.monotonic()
                self._logs.setdefault(key, []).append("\n".join(image.logs) + "\n")
            elif life.running and elapsed > 0.15:
                life.running, life.phase_since = False, time.monotonic()
                life.attempt += 1
                restarts = life.attempt
            oom = image.behaviour == "oom"
            last = {
                "terminated": {
                    "exitCode": 137 if oom else 1,
                    "reason": "OOMKilled" if oom else "Error",
                    "finishedAt": now(),
                }
            }
            state = (
                {"running": {"startedAt": now()}}
                if life.running
                else {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting"}}
            )
            cs = _cs(cname, container, state, restarts=restarts, last=last if restarts else None)
            return {**base, "phase": "Running", "containerStatuses": [cs]}
        if not life.running:
            life.running, life.phase_since = True, time.monotonic()
            self._logs.setdefault(key, []).append("\n".join(image.logs) + "\n")
        ready = image.behaviour in ("ok", "sick") and elapsed >= image.ready_after
        cs = _cs(cname, container, {"running": {"startedAt": now()}}, ready=ready)
        cond = [{"type": "Ready", "status": "True" if ready else "False"}]
        return {**base, "phase": "Running", "containerStatuses": [cs], "conditions": cond}

    def _job(self, pod, container, life, key, base) -> dict:
        cname = container["name"]
        if life.job is None:
            env = self._env(pod, container)
            life.job = threading.Thread(
                target=self._execute, args=(key, container.get("command") or [], env), daemon=True
            )
            life.job.start()
        if life.job.is_alive():
            cs = _cs(cname, container, {"running": {"startedAt": now()}})
            return {**base, "phase": "Running", "containerStatuses": [cs]}
        code = self._exit.get(key, 1)
        state = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error"}}
        phase = "Succeeded" if code == 0 else "Failed"
        return {**base, "phase": phase, "containerStatuses": [_cs(cname, container, state)]}

    def _execute(self, key, command, env) -> None:
        try:
            done = subprocess.run(
                command,
                env={"PATH": "/usr/bin:/bin", **env},
                capture_output=True,
                text=True,
                timeout=60,
            )
            output, code = done.stdout + done.stderr, done.returncode
        except (OSError, subprocess.TimeoutExpired) as exc:
            output, code = f"{exc}\n", 127
        self._logs.setdefault(key, []).append(output)
        self._exit[key] = code

    # -- the pod spec as a node reads it ---------------------------------------------------------
    def _image(self, pod: dict) -> Image | None:
        return self.catalogue.get(pod["spec"]["containers"][0]["image"])

    def _object(self, kind: str, ns: str, name: str) -> dict | None:
        return self.store.find(kind, ns, name)

    def _missing_ref(self, pod: dict, container: dict) -> str | None:
        ns = pod["metadata"]["namespace"]
        for entry in container.get("env") or []:
            source = entry.get("valueFrom") or {}
            for ref_kind, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                ref = source.get(ref_kind)
                if not ref or ref.get("optional"):
                    continue
                obj = self._object(kind, ns, ref["name"])
                if obj is None:
                    return f'{kind.lower()} "{ref["name"]}" not found'
                if ref["key"] not in (obj.get("data") or {}):
                    return f"couldn't find key {ref['key']} in {kind} {ns}/{ref['name']}"
        for entry in container.get("envFrom") or []:
            for ref_kind, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                ref = entry.get(ref_kind)
                if ref and not ref.get("optional") and not self._object(kind, ns, ref["name"]):
                    return f'{kind.lower()} "{ref["name"]}" not found'
        return None

    def _env(self, pod: dict, container: dict) -> dict[str, str]:
        ns = pod["metadata"]["namespace"]
        env: dict[str, str] = {}
        for entry in container.get("envFrom") or []:
            for ref_kind, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                ref = entry.get(ref_kind)
                obj = self._object(kind, ns, ref["name"]) if ref else None
                env.update(_values(obj, kind))
        for entry in container.get("env") or []:
            if "value" in entry:
                env[entry["name"]] = entry["value"]
                continue
            source = entry.get("valueFrom") or {}
            for ref_kind, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                ref = source.get(ref_kind)
                obj = self._object(kind, ns, ref["name"]) if ref else None
                if obj is not None and ref["key"] in _values(obj, kind):
                    env[entry["name"]] = _values(obj, kind)[ref["key"]]
        return env


def _values(obj: dict | None, kind: str) -> dict[str, str]:
    data = (obj or {}).get("data") or {}
    if kind == "Secret":
        return {k: base64.b64decode(v).decode() for k, v in data.items()}
    return {k: str(v) for k, v in data.items()}


def _owned_by(obj: dict, kind: str) -> bool:
    return any(o.get("kind") == kind for o in obj["metadata"].get("ownerReferences") or [])


def _cs(name, container, state, *, ready=False, restarts=0, last=None) -> dict:
    status = {
        "name": name,
        "image": container["image"],
        "ready": ready,
        "restartCount": restarts,
        "state": state,
    }
    if last:
        status["lastState"] = last
    return status
