"""The Lease lock and the ConfigMap ledger against the emulated API server, whose
create (409 AlreadyExists) and replace (409 Conflict on a stale resourceVersion) behave
as the real API's do: that is what makes the Lease atomic."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from support.kube.kit import settings

from shipwright.ledger import Ledger
from shipwright.lock import DeployLock, LockHeld, LockInfo
from shipwright.targets.k8s.client import Conflict
from shipwright.targets.k8s.lease import API, KIND, micro_time
from shipwright.targets.k8s.target import K8sTarget


@pytest.fixture
def target(cluster, namespace, tmp_path):
    t = K8sTarget(settings(cluster, tmp_path, namespace))
    yield t
    t.close()


def test_lease_fields_and_release(target, cluster, namespace):
    store = target.lock_store()
    lock = DeployLock(store, "staging")
    with lock.hold(version="v1", reason="test"):
        lease = cluster.get("Lease", namespace, "shipwright-deploy-staging")
        spec = lease["spec"]
        assert spec["holderIdentity"] and spec["leaseDurationSeconds"] == 30
        assert spec["acquireTime"].endswith("Z") and spec["renewTime"]
        assert store.read("staging").version == "v1"
    assert not cluster.get("Lease", namespace, "shipwright-deploy-staging")["spec"].get(
        "holderIdentity"
    )
    assert store.read("staging") is None


def test_of_many_takers_exactly_one_wins(target):
    store = target.lock_store()
    wins, start = [], threading.Barrier(6)

    def take(i: int) -> None:
        start.wait()
        if store.create(LockInfo("staging", holder=f"taker-{i}")) is None:
            wins.append(i)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1, wins
    holder = store.read("staging")
    assert holder.holder == f"taker-{wins[0]}"
    store.delete("staging", holder.token)


def test_a_stale_resource_version_is_refused(target, cluster, namespace):
    store = target.lock_store()
    assert store.create(LockInfo("staging")) is None
    lease = target.kube.get(API, KIND, store.name("staging"))
    target.kube.replace(lease)  # someone else writes first
    with pytest.raises(Conflict):
        target.kube.replace(lease)  # the resourceVersion read before is stale now
    store.delete("staging")


def test_an_expired_lease_can_be_taken_and_a_held_one_cannot(target, cluster, namespace):
    store = target.lock_store()
    assert store.create(LockInfo("staging", holder="dead-run")) is None
    store._stop_renewing("staging")  # the run died: nobody renews
    with pytest.raises(LockHeld, match="dead-run"):
        DeployLock(store, "staging").acquire()
    lease = target.kube.get(API, KIND, store.name("staging"))
    old = datetime.now(UTC) - timedelta(seconds=120)
    lease["spec"]["renewTime"] = micro_time(old)
    target.kube.replace(lease)
    assert "expired" in store.read("staging").reason
    mine = DeployLock(store, "staging").acquire(version="v2")
    assert store.read("staging").token == mine.token
    store.delete("staging", mine.token)


def test_ledger_entries_are_configmaps_read_in_order(target, cluster, namespace):
    ledger = Ledger(target.ledger_store(), "staging")
    for n in range(3):
        ledger.record("break-lock", None, "succeeded", reason=f"r{n}")
    assert [e.reason for e in ledger.history()] == ["r2", "r1", "r0"]
    found = cluster.list("ConfigMap", namespace, "shipwright.io/ledger=staging")
    assert len(found) == 3
