"""An emulated Kubernetes cluster for the tests: an API server over real HTTP on
127.0.0.1 (:mod:`.apiserver`, :mod:`.store`), the controllers that move
Deployment/ReplicaSet/Job status (:mod:`.controllers`) and a kubelet that plays each
image's behaviour (:mod:`.kubelet`). No kube-apiserver can run on these machines (see
../shared/ENVIRONMENT.md); the official ``kubernetes`` client talks to this one as it
would to a cluster. What it simplifies is listed in each module and docs/targets/k8s.md.

    with Cluster() as cluster:
        cluster.image("127.0.0.1:5000/app@sha256:…", Image("ok"))
        path = cluster.write_kubeconfig(tmp_path)   # KUBECONFIG for the product
"""

from __future__ import annotations

import threading
from pathlib import Path

from .apiserver import ApiServer
from .controllers import Controllers
from .kubelet import Image, Kubelet
from .store import Store

TICK = 0.05

__all__ = ["Cluster", "Image"]


class Cluster:
    def __init__(self, version: str = "1.30"):
        self.store = Store()
        self.kubelet = Kubelet(self.store)
        self.controllers = Controllers(self.store)
        self.api = ApiServer(self.store, self.kubelet, version)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[BaseException] = []

    def __enter__(self) -> Cluster:
        self.api.start()
        self._thread = threading.Thread(target=self._run, name="kube-controllers", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.api.stop()

    def _run(self) -> None:
        while not self._stop.wait(TICK):
            try:
                self.controllers.tick()
                self.kubelet.tick()
            except Exception as exc:  # noqa: BLE001 - kept for the test to show
                self.errors.append(exc)

    @property
    def url(self) -> str:
        return self.api.url

    def image(self, reference: str, behaviour: Image) -> None:
        """What ``reference`` does when a pod runs it (unknown images cannot be pulled)."""
        self.kubelet.catalogue[reference] = behaviour

    def write_kubeconfig(self, folder: Path, namespace: str = "default") -> Path:
        path = Path(folder) / "kubeconfig"
        path.write_text(self.api.kubeconfig(namespace))
        path.chmod(0o600)
        return path

    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        return self.store.find(kind, namespace, name)

    def list(self, kind: str, namespace: str, selector: str | None = None) -> list[dict]:
        return self.store.list(kind, namespace, selector)
