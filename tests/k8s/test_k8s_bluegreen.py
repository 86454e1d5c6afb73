"""K8S_STRATEGY=bluegreen against the emulated cluster: the new colour comes up beside
the serving one, is checked through the preview Service (the API's service proxy, to a
Ready pod it selects), then the main Service's selector switches; rollback switches it
back in one call while the old colour is still up. The proxy answers as the kubelet's
image behaviour says (no real app runs): real routing by selector and readiness, not
real HTTP from a pod."""

from __future__ import annotations

from support.kube.kit import deploy, release, rollback, settings

from shipwright.flow.session import opened
from shipwright.runner import Runner

NAME = "learinal-backend"


def selected(cluster, ns):
    return cluster.get("Service", ns, NAME)["spec"]["selector"].get("shipwright.io/color")


def replicas(cluster, ns, color):
    dep = cluster.get("Deployment", ns, f"{NAME}-{color}")
    return dep["spec"]["replicas"] if dep else None


def test_switch_and_switch_back(cluster, namespace, tmp_path):
    s = settings(cluster, tmp_path, namespace, K8S_STRATEGY="bluegreen")
    v1, v2 = release(cluster, "v1"), release(cluster, "v2")
    assert deploy(s, v1) == 0
    assert selected(cluster, namespace) == "blue"
    with opened(s, Runner(echo=False), staging=False) as dep:
        # The target's deploy alone (the flow would verify, watch, then prune).
        outcome = dep.target.deploy(v2)
        assert outcome.ok, outcome.message
        assert selected(cluster, namespace) == "green"
        assert replicas(cluster, namespace, "blue") == 2  # kept for the watch window
        preview = cluster.get("Service", namespace, f"{NAME}-preview")
        assert preview["spec"]["selector"]["shipwright.io/color"] == "green"
        before = len(cluster.api.seen)
        back = dep.target.rollback(v1)
        writes = [r for r in cluster.api.seen[before:] if r.method != "GET"]
        assert back.ok and selected(cluster, namespace) == "blue"
        assert [(w.method, w.path.rsplit("/", 2)[-2:]) for w in writes] == [
            ("PATCH", ["services", NAME])
        ]  # one call


def test_the_flow_scales_the_old_colour_down_after_the_watch(cluster, namespace, tmp_path):
    s = settings(cluster, tmp_path, namespace, K8S_STRATEGY="bluegreen")
    assert deploy(s, release(cluster, "v1")) == 0
    assert deploy(s, release(cluster, "v2")) == 0
    assert selected(cluster, namespace) == "green"
    assert replicas(cluster, namespace, "blue") == 0  # scaled down, not deleted
    # blue is down now: a rollback brings v1 up on blue again, then switches
    assert rollback(s) == 0
    assert selected(cluster, namespace) == "blue"
    assert replicas(cluster, namespace, "blue") == 2


def test_a_bad_new_colour_never_gets_traffic(cluster, namespace, tmp_path):
    s = settings(cluster, tmp_path, namespace, K8S_STRATEGY="bluegreen")
    assert deploy(s, release(cluster, "v1")) == 0
    assert deploy(s, release(cluster, "v2", "sick")) == 1  # preview /health fails
    assert selected(cluster, namespace) == "blue"
    assert replicas(cluster, namespace, "green") == 0
    assert deploy(s, release(cluster, "v3", None)) == 1  # never pulls
    assert selected(cluster, namespace) == "blue"
    with opened(s, Runner(echo=False), staging=False) as dep:
        entry = dep.ledger.history(limit=1)[0]
        assert dep.target.current().version == "v1"
    assert entry.result == "failed" and "ImagePull" in " ".join(entry.notes)
