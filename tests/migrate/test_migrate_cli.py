"""migrate.* from the CLI (``invoke``, ``--local``: the app's own runner with the Node
``mongodb`` driver) against a real MongoDB wire-protocol server over real connections.

What is proven where: every test runs against mongoeco (started by the suite) and, when
MONGO_URI points at a real MongoDB, against that too (the ``real-mongodb`` ids; GitHub
Actions' mongo:7). The Node driver's cursor helpers (find().toArray(), findOne,
aggregate) do not work against mongoeco: the migrations here use what does (updateMany,
createIndex, the find/count commands); ``test_node_cursor_helpers_on_real_mongodb``
runs only on real MongoDB.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import mongokit
import pytest
from helpers import ROOT
from mongokit import expand

from shipwright.retry import poll

pytestmark = pytest.mark.integration
server, mongo = mongokit.server, mongokit.mongo
APP_MIGRATIONS = ROOT / "app" / "scripts" / "migrations"
SLOW = "await new Promise((r) => setTimeout(r, {ms}));"


def copy_app_migrations(mongo) -> None:
    for path in sorted(APP_MIGRATIONS.glob("*.js")):
        (mongo.migrations / path.name).write_text(path.read_text())


def seed_users(mongo, n: int = 5) -> None:
    mongo.db.users.insert_many([{"email": f"user{i}@example.org"} for i in range(n)])


def test_status_up_backfill_down_walk_the_specification_example(mongo):
    copy_app_migrations(mongo)
    seed_users(mongo, 5)
    up = mongo.cli("migrate.up", "--env", "test", "--local")
    assert up.code == 0, up.output
    assert "next: the backfill 0003-backfill-user-email-address" in up.output
    assert mongo.db.users.count_documents({"subscriptionTier": "free"}) == 5
    assert "emailAddress_1" in mongo.db.users.index_information()

    backfill = mongo.cli("migrate.backfill", "--env", "test", "--local", "--batch", "2")
    assert backfill.code == 0, backfill.output
    assert backfill.output.count("node scripts/run-migration.js 0003") == 4  # 2+2+1, then 0
    assert mongo.db.users.count_documents({"emailAddress": {"$exists": True}}) == 5
    progress = mongo.db.migrations_changelog.find_one({"kind": "progress"})
    assert progress["processed"] == 5

    status = mongo.cli("migrate.status", "--env", "test", "--json")
    import json

    rows = {r["name"]: r for r in json.loads(status.stdout)["migrations"]}
    assert [rows[n]["state"] for n in sorted(rows)] == ["applied"] * 3 + ["pending"]
    assert (
        rows["0001-add-subscription-tier"]["by"] and rows["0001-add-subscription-tier"]["release"]
    )

    down = mongo.cli(
        "migrate.down", "--env", "test", "--local", "--to", "0001-add-subscription-tier"
    )
    assert down.code == 0, down.output
    assert "emailAddress_1" not in mongo.db.users.index_information()
    assert mongo.db.users.count_documents({"subscriptionTier": "free"}) == 5  # 0001 stays
    table = mongo.cli("migrate.status", "--env", "test")
    assert table.code == 0 and "0002-index-user-email-address" in table.output


def test_dry_run_writes_nothing_at_all(mongo):
    copy_app_migrations(mongo)
    seed_users(mongo, 3)
    assert (
        mongo.cli(
            "migrate.up", "--env", "test", "--local", "--to", "0001-add-subscription-tier"
        ).code
        == 0
    )
    before = mongo.snapshot()
    runs = [
        ("migrate.up", "--env", "test", "--local", "--dry-run"),
        ("migrate.down", "--env", "test", "--local", "--dry-run"),
        ("migrate.up", "--env", "test", "--local", "--dry-run", "--break-lock"),
    ]
    for args in runs:
        result = mongo.cli(*args, MIGRATE_BACKUP="always")
        assert result.code == 0, result.output
        assert mongo.snapshot() == before, f"{' '.join(args)} changed the database"
    plan = mongo.cli("migrate.up", "--env", "test", "--local", "--dry-run", MIGRATE_BACKUP="always")
    lines = plan.output.splitlines()
    order = [i for i, line in enumerate(lines) if "0002-index-user-email-address" in line]
    assert any("expand" in lines[i] and "up" in lines[i] for i in order), plan.output
    assert "would run [api] take the migrations lock" in plan.output
    assert "would run [api] back up users" in plan.output
    assert not mongo.state.joinpath("migrate-backups").exists()


def test_two_ups_at_once_exactly_one_runs(mongo):
    mongo.write(
        "0001-slow",
        expand(
            SLOW.format(ms=2500)
            + " await db.collection('users').updateMany({}, { $inc: { n: 1 } });"
        ),
    )
    seed_users(mongo, 2)
    env = {**os.environ, **mongo.env}
    argv = [sys.executable, "-m", "invoke", "migrate.up", "--env", "test", "--local"]
    procs = [
        subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 1], outputs
    loser = outputs[[p.returncode for p in procs].index(1)]
    assert "the migrations lock is held by" in loser and "nothing changed" in loser
    assert [r["result"] for r in mongo.runs()] == ["applied"]
    assert mongo.db.users.count_documents({"n": 1}) == 2  # ran once
    assert mongo.db.migrations_lock.count_documents({}) == 0


def test_ctrl_c_mid_migration_releases_the_lock_and_records_it(mongo):
    mongo.write("0001-stuck", expand(SLOW.format(ms=60000)))
    env = {**os.environ, **mongo.env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", "migrate.up", "--env", "test", "--local"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # Ctrl-C as a terminal delivers it, even when this suite runs as a background job
        # (which starts its children with SIGINT ignored)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert poll(lambda: mongo.db.migrations_lock.count_documents({}) == 1, timeout=60).ok
        time.sleep(1.5)  # the runner is inside up()
        os.killpg(proc.pid, signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0, output
    assert mongo.db.migrations_lock.count_documents({}) == 0, output
    assert [r["result"] for r in mongo.runs()] == ["interrupted"], output


def test_an_edited_migration_is_refused_naming_the_file_and_both_checksums(mongo):
    path = mongo.write(
        "0001-tier", expand("await db.collection('users').updateMany({}, { $set: { t: 1 } });")
    )
    assert mongo.cli("migrate.up", "--env", "test", "--local").code == 0
    old = mongo.runs()[0]["checksum"]
    path.write_text(path.read_text().replace("t: 1", "t: 2"))
    mongo.write(
        "0002-next", expand("await db.collection('users').updateMany({}, { $set: { u: 1 } });")
    )
    before = mongo.snapshot()
    for action in ("migrate.up", "migrate.down"):
        result = mongo.cli(action, "--env", "test", "--local")
        assert result.code == 2, result.output
        assert str(path) in result.output and old[:16] in result.output
        from shipwright.migrate.discovery import checksum_of

        assert checksum_of(path)[:16] in result.output
        assert mongo.snapshot() == before
    status = mongo.cli("migrate.status", "--env", "test")
    assert "edited" in status.output


def test_a_deleted_migration_is_reported(mongo):
    path = mongo.write("0001-gone", expand(""))
    assert mongo.cli("migrate.up", "--env", "test", "--local").code == 0
    path.unlink()
    status = mongo.cli("migrate.status", "--env", "test")
    assert "missing file" in status.output and "0001-gone" in status.output
    down = mongo.cli("migrate.down", "--env", "test", "--local")
    assert down.code == 2 and "its file is gone" in down.output


def test_a_failing_up_runs_its_down_and_says_so(mongo):
    seed_users(mongo, 2)
    mongo.write(
        "0001-breaks",
        expand(
            "await db.collection('users').updateMany({}, { $set: { half: true } });"
            " throw new Error('boom');",
            "await db.collection('users').updateMany({}, { $unset: { half: '' } });",
        ),
    )
    result = mongo.cli("migrate.up", "--env", "test", "--local")
    assert result.code == 1, result.output
    assert "0001-breaks up failed" in result.output and "its down ran" in result.output
    assert mongo.db.users.count_documents({"half": True}) == 0
    assert [(r["direction"], r["result"]) for r in mongo.runs()] == [
        ("up", "failed"),
        ("down", "applied"),
    ]
    assert mongo.db.migrations_lock.count_documents({}) == 0


def test_a_failing_changelog_write_still_releases_the_lock(mongo):
    mongo.write("0001-fine", expand(""))
    # The server itself refuses the write: a unique index the changelog entry collides with.
    mongo.db.migrations_changelog.create_index("name", unique=True)
    mongo.db.migrations_changelog.insert_one({"name": "0001-fine", "kind": "planted"})
    result = mongo.cli("migrate.up", "--env", "test", "--local")
    assert result.code == 1, result.output
    assert "changelog entry could not be written" in result.output
    assert mongo.db.migrations_lock.count_documents({}) == 0


def test_a_held_lock_is_refused_named_and_broken_only_on_request(mongo):
    from datetime import UTC, datetime, timedelta

    mongo.write("0001-x", expand(""))
    now = datetime.now(UTC)
    mongo.db.migrations_lock.insert_one(
        {
            "_id": "migrations",
            "holder": "alice",
            "reason": "hotfix",
            "since": now,
            "heartbeat": now,
            "expires": now + timedelta(hours=1),
            "token": "t",
        }
    )
    refused = mongo.cli("migrate.up", "--env", "test", "--local", "--lock-wait", "1")
    assert refused.code == 1 and "held by alice (hotfix)" in refused.output
    assert mongo.runs() == []
    broke = mongo.cli(
        "migrate.up", "--env", "test", "--local", "--break-lock", "--reason", "alice is gone"
    )
    assert broke.code == 0, broke.output
    event = mongo.db.migrations_changelog.find_one({"kind": "break-lock"})
    assert "alice" in event["broken"] and event["reason"] == "alice is gone"
    assert [r["result"] for r in mongo.runs()] == ["applied"]


def test_backup_before_up_and_restore(mongo):
    seed_users(mongo, 3)
    mongo.db.users.create_index("email", unique=True, sparse=True, name="email_1")
    mongo.write(
        "0001-wipe",
        expand("await db.collection('users').updateMany({}, { $unset: { email: '' } });"),
    )
    result = mongo.cli("migrate.up", "--env", "test", "--local", MIGRATE_BACKUP="always")
    assert result.code == 0, result.output
    backup = mongo.runs()[0]["backup"]
    assert backup["tool"] in ("pymongo", "mongodump") and backup["collections"] == ["users"]
    assert mongo.db.users.count_documents({"email": {"$exists": True}}) == 0
    restored = mongo.cli("migrate.restore", "--env", "test", "--backup", backup["id"])
    assert restored.code == 0, restored.output
    assert sorted(d["email"] for d in mongo.db.users.find()) == [
        f"user{i}@example.org" for i in range(3)
    ]
    assert mongo.db.users.index_information()["email_1"]["unique"]
    assert mongo.db.migrations_changelog.count_documents({"kind": "restore"}) == 1
    missing = mongo.cli("migrate.restore", "--env", "test", "--backup", "nope")
    assert missing.code == 2 and "no backup 'nope'" in missing.output


def test_node_cursor_helpers_on_real_mongodb(mongo, request):
    """findOne / find().toArray() in a migration: only a real server answers them."""
    if mongo.server.kind != "real":
        request.applymarker(pytest.mark.real_service)  # proven only on real MongoDB
        pytest.skip("mongoeco answers cursor ids the Node driver cannot read: real MongoDB only")
    seed_users(mongo, 2)
    mongo.write(
        "0001-cursor",
        expand(
            "const all = await db.collection('users').find({}).toArray();"
            " const one = await db.collection('users').findOne({});"
            " if (all.length !== 2 || !one) throw new Error('cursor');"
            " await db.collection('users').updateMany({}, { $set: { seen: all.length } });"
        ),
    )
    result = mongo.cli("migrate.up", "--env", "test", "--local")
    assert result.code == 0, result.output
    assert mongo.db.users.count_documents({"seen": 2}) == 2
