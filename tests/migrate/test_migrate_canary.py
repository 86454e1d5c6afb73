"""No password from MONGO_URI in any output, changelog, lock, plan or backup record: the
server (mongoeco, started here) requires SCRAM authentication with a canary password,
so every command below really uses it."""

from __future__ import annotations

import json

import mongokit
import pytest
from helpers import require

pytestmark = pytest.mark.integration
CANARY = "CanaryMongoPw7"


@pytest.fixture(scope="module")
def server():
    from support.sandbox import MongoEco, SandboxError
    from support.sandbox.mongowire import mongoeco_python

    try:
        mongoeco_python()
    except SandboxError as exc:
        require(False, str(exc))
    with MongoEco(user="app", password=f"{CANARY}:x@y") as eco:
        yield mongokit.Server("mongoeco", eco.uri("admin"))


mongo = mongokit.mongo


def test_no_mongo_password_anywhere(mongo):
    from helpers import ROOT

    for path in sorted((ROOT / "app" / "scripts" / "migrations").glob("000[123]-*.js")):
        (mongo.migrations / path.name).write_text(path.read_text())
    mongo.db.users.insert_many([{"email": f"u{i}@example.org"} for i in range(3)])
    mongo.write(
        "0009-fails",
        "// @phase expand\n// @collections users\n"
        "module.exports = { async up(db) { throw new Error(process.env.MONGO_URI); },"
        " async down() {} };\n",
    )
    runs = [
        ("migrate.status", "--env", "test"),
        ("migrate.status", "--env", "test", "--json"),
        ("migrate.up", "--env", "test", "--local", "--dry-run"),
        ("migrate.up", "--env", "test", "--local", "--to", "0002-index-user-email-address"),
        ("migrate.backfill", "--env", "test", "--local", "--batch", "2"),
        ("migrate.up", "--env", "test", "--local"),  # 0009 throws the URI itself
        ("migrate.down", "--env", "test", "--local", "--dry-run", "--steps", "2"),
    ]
    outputs = []
    for args in runs:
        result = mongo.cli(*args, MIGRATE_BACKUP="always")
        outputs.append(result)
        assert CANARY not in result.output, f"invoke {' '.join(args)} leaked the password"
    assert outputs[3].code == 0 and outputs[4].code == 0, outputs[4].output
    assert outputs[5].code == 1  # the failing one really ran, with the URI in its error
    everything = list(mongo.db.migrations_changelog.find()) + list(mongo.db.migrations_lock.find())
    assert everything and CANARY not in json.dumps(everything, default=str)
    sidecars = list(mongo.state.rglob("*.json"))
    assert sidecars, "backups were taken"
    for path in sidecars:
        assert CANARY not in path.read_text()
