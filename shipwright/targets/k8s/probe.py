"""Health endpoints of what a Service selects, reached through the API server's service
proxy (``/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH``).

Why the proxy: it needs nothing but the kubeconfig the deploy already uses -- no
ingress, no port-forward -- so the preview Service of a blue-green deploy is checked
before any user traffic reaches it, and verify checks the main Service the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from shipwright.domain import Check, Checks
from shipwright.retry import poll
from shipwright.targets.k8s.client import Kube


def service_port(service: dict) -> str:
    ports = (service.get("spec") or {}).get("ports") or [{}]
    return str(ports[0].get("name") or ports[0].get("port") or "http")


def service_health(
    kube: Kube,
    service: dict,
    paths: Sequence[str],
    *,
    deadline: float,
    version: str | None = None,
    interval: float = 0.5,
) -> Checks:
    """GET each path until 2xx (one shared deadline). With ``version``, a JSON answer
    naming another version fails: the Service would send users to the wrong release."""
    name = service["metadata"]["name"]
    port = service_port(service)
    checks = Checks()
    for path in paths:
        polled = poll(
            lambda p=path: kube.service_proxy(name, port, p),
            timeout=deadline,
            done=lambda answer: 200 <= answer[0] < 300,
            interval=interval,
        )
        status, body = polled.value or (0, str(polled.error))
        ok = polled.ok
        detail = f"HTTP {status}" + ("" if ok else f": {body[:200]}")
        served = _version(body) if ok else None
        if ok and version and served and served != version:
            ok, detail = False, f"HTTP {status} but serves {served}, not {version}"
        checks.items.append(Check(f"service/{name}: GET {path}", ok, detail))
    return checks


def _version(body: str) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data.get("version") if isinstance(data, dict) else None
