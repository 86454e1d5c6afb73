"""The cluster as plain dicts, through the official ``kubernetes`` client.

Why the dynamic client: any kind an overlay adds (a PodDisruptionBudget, an HPA …) is
applied the way ``kubectl apply --server-side`` does it -- found through API discovery,
sent as an apply patch with our field manager -- with no per-kind code here. Why the
kubeconfig is found as kubectl finds it: ``KUBECONFIG`` (':'-separated files, merged),
else ``~/.kube/config``, else the pod's service account (in-cluster).

Errors become ShipwrightErrors that name the call and the API's own message (never the
request or response body, which may carry a Secret's data).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shipwright.errors import ConfigError, ShipwrightError
from shipwright.redact import REDACTOR
from shipwright.targets.k8s.config import FIELD_MANAGER, K8sConfig


class Conflict(ShipwrightError):
    """409: the object exists, or changed since it was read (resourceVersion)."""


def api_client(cfg: K8sConfig) -> Any:
    """An ApiClient for the environment's cluster and context."""
    from kubernetes import client, config

    files = cfg.kubeconfig or os.environ.get("KUBECONFIG")
    default = Path("~/.kube/config").expanduser()
    try:
        if files or default.is_file():
            return config.new_client_from_config(
                config_file=files or str(default), context=cfg.context
            )
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)
            return client.ApiClient(configuration)
    except config.ConfigException as exc:
        raise ConfigError(f"kubeconfig {files or default}: {exc}") from None
    raise ConfigError(
        "no Kubernetes cluster configured: set KUBECONFIG (or create ~/.kube/config), "
        "or run inside a cluster"
    )


class Kube:
    """get/list/create/replace/apply/patch/delete and pod logs in one namespace."""

    def __init__(self, cfg: K8sConfig, namespace: str, client: Any = None):
        self.cfg, self.namespace = cfg, namespace
        self._api = client
        self._dynamic = None
        self._cache = tempfile.TemporaryDirectory(prefix="sw-k8s-discovery-")

    @property
    def api(self) -> Any:
        if self._api is None:
            self._api = api_client(self.cfg)
        return self._api

    @property
    def host(self) -> str:
        return self.api.configuration.host

    def dynamic(self) -> Any:
        if self._dynamic is None:
            from kubernetes.dynamic import DynamicClient

            with self.errors("discover the API"):
                self._dynamic = DynamicClient(
                    self.api, cache_file=str(Path(self._cache.name) / "discovery.json")
                )
        return self._dynamic

    def resource(self, api_version: str, kind: str) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            return self.dynamic().resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            raise ShipwrightError(
                f"the cluster at {self.host} does not serve {kind} ({api_version})"
            ) from None

    # -- reading --------------------------------------------------------------------------
    def get(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        res = self.resource(api_version, kind)
        with self.errors(f"get {kind}/{name}", missing_ok=True) as answer:
            answer.value = res.get(name=name, namespace=self._ns(res)).to_dict()
        return answer.value

    def list(self, api_version: str, kind: str, selector: str | None = None) -> list[dict]:
        res = self.resource(api_version, kind)
        with self.errors(f"list {kind}"):
            found = res.get(namespace=self._ns(res), label_selector=selector)
        return list(found.to_dict().get("items") or [])

    # -- writing --------------------------------------------------------------------------
    def apply(self, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply as our field manager (conflicts forced: the repository's
        manifests are the truth for the fields they set)."""
        res = self.resource(obj["apiVersion"], obj["kind"])
        name = obj["metadata"]["name"]
        extra = {"dry_run": "All"} if dry_run else {}
        with self.errors(f"apply {obj['kind']}/{name}"):
            return res.server_side_apply(
                body=obj,
                namespace=self._ns(res),
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
                **extra,
            ).to_dict()

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        res = self.resource(obj["apiVersion"], obj["kind"])
        with self.errors(f"create {obj['kind']}/{obj['metadata'].get('name', '')}"):
            return res.create(
                body=obj, namespace=self._ns(res), field_manager=FIELD_MANAGER
            ).to_dict()

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        """PUT with the object's resourceVersion: Conflict when it changed since read."""
        res = self.resource(obj["apiVersion"], obj["kind"])
        with self.errors(f"replace {obj['kind']}/{obj['metadata']['name']}"):
            return res.replace(
                body=obj, namespace=self._ns(res), field_manager=FIELD_MANAGER
            ).to_dict()

    def patch(self, api_version: str, kind: str, name: str, patch: dict) -> dict[str, Any]:
        """A JSON merge patch (scale, selector switch): one call, one field."""
        res = self.resource(api_version, kind)
        with self.errors(f"patch {kind}/{name}"):
            return res.patch(
                body=patch,
                name=name,
                namespace=self._ns(res),
                content_type="application/merge-patch+json",
                field_manager=FIELD_MANAGER,
            ).to_dict()

    def delete(self, api_version: str, kind: str, name: str) -> None:
        res = self.resource(api_version, kind)
        with self.errors(f"delete {kind}/{name}", missing_ok=True):
            res.delete(name=name, namespace=self._ns(res))

    # -- pods -----------------------------------------------------------------------------
    def pod_log(
        self, pod: str, container: str | None = None, *, tail: int | None = None, **kw: Any
    ) -> str:
        from kubernetes import client

        # Not preloaded: the client would turn the text/plain body into "b'…'" (it
        # decodes only JSON answers), so the bytes are decoded here.
        with self.errors(f"read the log of pod/{pod}", missing_ok=True) as answer:
            response = client.CoreV1Api(self.api).read_namespaced_pod_log(
                pod,
                self.namespace,
                container=container,
                tail_lines=tail,
                _preload_content=False,
                **kw,
            )
            answer.value = response.data.decode("utf-8", "replace")
        return REDACTOR.redact(answer.value or "")

    def follow_pod_log(self, pod: str, container: str | None, **kw: Any) -> Iterator[str]:
        """The pod's log lines as they come (``kubectl logs -f``)."""
        from kubernetes import client

        with self.errors(f"follow the log of pod/{pod}"):
            response = client.CoreV1Api(self.api).read_namespaced_pod_log(
                pod, self.namespace, container=container, follow=True, _preload_content=False, **kw
            )
            try:
                for line in response:  # urllib3 yields whole lines
                    yield REDACTOR.redact(line.decode("utf-8", "replace"))
            finally:
                response.release_conn()

    def service_proxy(self, service: str, port: str, path: str) -> tuple[int, str]:
        """GET ``path`` on a Service through the API server's proxy: how the tool reaches
        what a Service selects without an ingress. (status, body)"""
        from kubernetes.client.exceptions import ApiException

        url = f"/api/v1/namespaces/{self.namespace}/services/{service}:{port}/proxy{path}"
        try:
            response = self.api.call_api(
                url,
                "GET",
                auth_settings=["BearerToken"],
                _preload_content=False,
                _return_http_data_only=True,
                _request_timeout=5,
            )
            return response.status, REDACTOR.redact(response.data.decode("utf-8", "replace"))
        except ApiException as exc:
            return exc.status or 0, REDACTOR.redact(str(exc.body or exc.reason)[:300])
        except Exception as exc:  # noqa: BLE001 - unreachable is an answer to report
            return 0, REDACTOR.redact(f"{type(exc).__name__}: {exc}"[:300])

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
        self._cache.cleanup()

    # -- internals ------------------------------------------------------------------------
    def _ns(self, res: Any) -> str | None:
        return self.namespace if res.namespaced else None

    @contextlib.contextmanager
    def errors(self, what: str, *, missing_ok: bool = False) -> Iterator[_Answer]:
        """API failures as ShipwrightErrors (404 -> answer None when ``missing_ok``)."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        answer = _Answer()
        try:
            yield answer
        except ApiException as exc:
            if exc.status == 404 and missing_ok:
                answer.value = None
                return
            message = _message(exc)
            cls = Conflict if exc.status == 409 else ShipwrightError
            text = REDACTOR.redact(f"Kubernetes API: {what} in {self.namespace}: {message}")
            raise cls(text) from None
        except HTTPError as exc:
            raise ShipwrightError(
                REDACTOR.redact(f"cannot reach the Kubernetes API at {self.host} ({what}): {exc}")
            ) from None


class _Answer:
    value: Any = None


def _message(exc: Any) -> str:
    """The API's Status message (never the body of a Secret)."""
    try:
        body = json.loads(exc.body or "{}")
        return f"{exc.status} {body.get('reason') or exc.reason}: {body.get('message', '')}"
    except (TypeError, ValueError):
        return f"{exc.status} {exc.reason}"
