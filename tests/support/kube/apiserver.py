"""A Kubernetes API server over real HTTP on 127.0.0.1, for the official client.

Serves discovery (/version, /api, /apis, resource lists), the object URLs of
:mod:`store` (get, list with labelSelector/fieldSelector, create, replace, merge and
apply patches with dryRun and fieldManager, delete with preconditions), the status
subresource, pods/log (tailLines, previous; ``follow`` returns what is there and
ends), and services/proxy (to a Ready pod the Service selects, answered by the
kubelet). Watches are refused (405): the product polls.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from .store import RESOURCES, ApiError, Res, Store

BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str


@dataclass
class ApiServer:
    store: Store
    kubelet: Any  # log(pod, container, previous) -> str; answer(pod, path) -> (code, body)
    version: str = "1.30"
    seen: list[Seen] = field(default_factory=list)

    def start(self) -> ApiServer:
        handler = type("Handler", (_Handler,), {"api": self})
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def kubeconfig(self, namespace: str = "default") -> str:
        return yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "emulated", "cluster": {"server": self.url}}],
                "users": [{"name": "tester", "user": {"token": "emulated-token"}}],
                "contexts": [
                    {
                        "name": "emulated",
                        "context": {
                            "cluster": "emulated",
                            "user": "tester",
                            "namespace": namespace,
                        },
                    }
                ],
                "current-context": "emulated",
            }
        )

    # -- discovery ----------------------------------------------------------------------
    def discovery(self, path: str) -> dict[str, Any] | None:
        major, minor = self.version.split(".")[:2]
        if path == "/version":
            return {"major": major, "minor": minor, "gitVersion": f"v{self.version}.0-emulated"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"]}
        groups = sorted({(r.group, r.version) for r in RESOURCES if r.group})
        if path == "/apis":
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [
                    {
                        "name": g,
                        "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                        "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v},
                    }
                    for g, v in groups
                ],
            }
        for group, version in [("", "v1"), *groups]:
            prefix = "/api/v1" if not group else f"/apis/{group}/{version}"
            if path == prefix:
                return {
                    "kind": "APIResourceList",
                    "groupVersion": f"{group}/{version}" if group else "v1",
                    "resources": [
                        entry
                        for r in RESOURCES
                        if (r.group, r.version) == (group, version)
                        for entry in _resource_entries(r)
                    ],
                }
        return None


def _resource_entries(r: Res) -> list[dict[str, Any]]:
    verbs = ["create", "delete", "get", "list", "patch", "update"]
    main = {
        "name": r.plural,
        "singularName": r.kind.lower(),
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": verbs,
    }
    subs = [
        {
            "name": f"{r.plural}/{s}",
            "singularName": "",
            "namespaced": True,
            "kind": r.kind,
            "verbs": ["get", "patch", "update"],
        }
        for s in r.subresources
    ]
    return [main, *subs]


class _Handler(BaseHTTPRequestHandler):
    api: ApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    # -- dispatch -----------------------------------------------------------------------
    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        self.api.seen.append(Seen(method, url.path, query, content_type))
        try:
            if method == "GET" and (found := self.api.discovery(url.path.rstrip("/"))):
                return self._json(200, found)
            body = yaml.safe_load(raw) if raw else None
            code, answer = self._object(method, url.path, query, body, content_type)
        except ApiError as exc:
            return self._json(exc.code, exc.status())
        if isinstance(answer, str):
            return self._text(code, answer)
        self._json(code, answer)

    def _object(self, method, path, query, body, content_type):
        res, ns, name, sub, rest = _parse(path)
        store, q = self.api.store, {k: v[-1] for k, v in query.items()}
        dry = q.get("dryRun") == "All"
        if q.get("watch") in ("true", "1"):
            raise ApiError(405, "MethodNotAllowed", "watch is not served by this emulator")
        if sub == "log":
            previous = q.get("previous") == "true"
            text = self.api.kubelet.log(ns, name, q.get("container"), previous)
            tail = q.get("tailLines")
            if tail:
                text = "".join(text.splitlines(keepends=True)[-int(tail) :])
            return 200, text
        if sub == "proxy":
            return self._proxy(ns, name, "/" + rest)
        if method == "GET" and name:
            return 200, store.get(res.kind, ns, name)
        if method == "GET":
            items = store.list(res.kind, ns, q.get("labelSelector"))
            wanted = (q.get("fieldSelector") or "").removeprefix("metadata.name=")
            if wanted:
                items = [i for i in items if i["metadata"]["name"] == wanted]
            kind = f"{res.kind}List"
            return 200, {
                "kind": kind,
                "apiVersion": res.api_version,
                "metadata": {},
                "items": items,
            }
        if method == "POST":
            return 201, store.create(res.kind, ns, body, dry_run=dry)
        if method == "PUT":
            return 200, store.replace(res.kind, ns, name, body, status=sub == "status", dry_run=dry)
        if method == "PATCH" and "apply-patch" in content_type:
            return 200, store.apply(res.kind, ns, name, body, q.get("fieldManager", ""), dry)
        if method == "PATCH":
            if sub == "status":
                live = store.get(res.kind, ns, name)
                live["status"] = {**live.get("status", {}), **(body.get("status") or {})}
                return 200, store.replace(res.kind, ns, name, live, status=True, dry_run=dry)
            return 200, store.patch(res.kind, ns, name, body, dry_run=dry)
        if method == "DELETE":
            pre = ((body or {}).get("preconditions") or {}).get("resourceVersion")
            return 200, store.delete(res.kind, ns, name, precondition_rv=pre)
        raise ApiError(405, "MethodNotAllowed", f"{method} {path}")

    def _proxy(self, ns: str, service: str, path: str):
        name = service.split(":", 1)[0]
        svc = self.api.store.get("Service", ns, name)
        selector = ",".join(f"{k}={v}" for k, v in (svc["spec"].get("selector") or {}).items())
        pods = [
            p
            for p in self.api.store.list("Pod", ns, selector)
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (p.get("status") or {}).get("conditions") or []
            )
        ]
        if not selector or not pods:
            raise ApiError(
                503, "ServiceUnavailable", f'no endpoints available for service "{name}"'
            )
        pod = pods[self.api.store.writes % len(pods)]
        return self.api.kubelet.answer(pod, path)

    # -- answers ------------------------------------------------------------------------
    def _json(self, code: int, data: Any) -> None:
        self._send(code, json.dumps(data).encode(), "application/json")

    def _text(self, code: int, text: str) -> None:
        self._send(code, text.encode(), "text/plain")

    def _send(self, code: int, payload: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _parse(path: str) -> tuple[Res, str, str, str, str]:
    """(resource, namespace, name, subresource, the rest after it)."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, parts = "", "v1", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, parts = parts[1], parts[2], parts[3:]
    else:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource {path}")
    ns = ""
    if parts[:1] == ["namespaces"] and len(parts) >= 3:
        ns, parts = parts[1], parts[2:]
    res = BY_PATH.get((group, version, parts[0] if parts else ""))
    if res is None:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource {path}")
    name = parts[1] if len(parts) > 1 else ""
    sub = parts[2] if len(parts) > 2 else ""
    return res, ns, name, sub, "/".join(parts[3:])
