"""Fixtures for the migration tests: a real MongoDB wire-protocol server and the CLI.

Why not a conftest.py: see tests/flow/flowkit.py (one module name for every suite).
Test modules bind the fixtures they use (``server = mongokit.server``).

``server`` is parametrised: "mongoeco" always runs (the suite starts it on 127.0.0.1);
"real" runs when MONGO_URI points at a real MongoDB that answers (the GitHub Actions
test job's mongo:7 service) and skips with the reason otherwise -- also in CI, where
it is marked ``real_service``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from helpers import invoke, require

REAL = pytest.param(
    "real", marks=[pytest.mark.real_service, pytest.mark.integration], id="real-mongodb"
)


@dataclass
class Server:
    kind: str  # mongoeco | real
    base_uri: str  # any database; tests get one of their own

    def database_uri(self, name: str) -> str:
        parts = urlsplit(self.base_uri)
        return urlunsplit(parts._replace(path=f"/{name}"))


def _real_uri() -> str | None:
    uri = os.environ.get("MONGO_URI", "")
    if not uri.startswith("mongodb"):
        return None
    import pymongo

    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=2000)
    try:
        client.admin.command("ping")
        info = client.admin.command("buildInfo")  # mongoeco has none: a real server does
        return uri if info.get("version") else None
    except Exception:  # noqa: BLE001 - not a real server that answers: skip
        return None
    finally:
        client.close()


@pytest.fixture(scope="module", params=["mongoeco", REAL])
def server(request) -> Iterator[Server]:
    if request.param == "real":
        uri = _real_uri()
        require(uri is not None, "no real MongoDB answers at MONGO_URI (set it to run this suite)")
        yield Server("real", uri)
        return
    from support.sandbox import MongoEco, SandboxError
    from support.sandbox.mongowire import mongoeco_python

    try:
        mongoeco_python()
    except SandboxError as exc:
        require(False, str(exc))
    with MongoEco() as eco:
        yield Server("mongoeco", eco.uri("admin"))


@dataclass
class Db:
    """One test's database on the server, and the CLI pointed at it."""

    server: Server
    name: str
    uri: str
    client: Any
    migrations: Path
    state: Path
    env: dict[str, str]

    @property
    def db(self) -> Any:
        return self.client[self.name]

    def cli(self, *args: str, timeout: float = 180, **env: str):
        return invoke(*args, env={**self.env, **env}, timeout=timeout)

    def write(self, name: str, text: str) -> Path:
        path = self.migrations / f"{name}.js"
        path.write_text(text)
        return path

    def runs(self) -> list[dict]:
        return list(self.db.migrations_changelog.find({"kind": "run"}).sort("at", 1))

    def snapshot(self) -> dict[str, Any]:
        """Every collection's documents (BSON bytes) and indexes: for byte-for-byte checks."""
        import bson

        out = {}
        for name in sorted(self.db.list_collection_names()):
            docs = [bson.encode(d) for d in self.db[name].find({}).sort("_id", 1)]
            indexes = sorted(bson.encode(dict(i)) for i in self.db[name].list_indexes())
            out[name] = (docs, indexes)
        return out


@pytest.fixture
def mongo(server: Server, tmp_path: Path) -> Iterator[Db]:
    import pymongo

    name = f"sw_migrate_{uuid.uuid4().hex[:10]}"
    uri = server.database_uri(name)
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000, tz_aware=True)
    folder = tmp_path / "migrations"
    folder.mkdir()
    state = tmp_path / "state"
    env = {
        "MONGO_URI": uri,
        "MIGRATIONS_DIR": str(folder),
        "SHIPWRIGHT_STATE_DIR": str(state),
        "MIGRATE_BACKUP": "never",
    }
    try:
        yield Db(server, name, uri, client, folder, state, env)
    finally:
        client.drop_database(name)
        client.close()


def expand(body_up: str, body_down: str = "", collections: str = "users", extra: str = "") -> str:
    """A migration module's text."""
    return (
        f"// @phase expand\n// @collections {collections}\n{extra}'use strict';\n"
        f"module.exports = {{\n  async up(db) {{ {body_up} }},\n"
        f"  async down(db) {{ {body_down} }},\n}};\n"
    )
