"""The specification's zero-downtime email -> emailAddress change, end to end, through
the deploy flow (``invoke deploy``'s path, as tests/support/fleet.py runs it) on real SSH
hosts, with the migrations run as one-off tasks in each release's image on the hosts
(``docker run --rm`` with the app's env file) against mongoeco on the sandbox bridge.

1. v1.1 (writes both fields): its expand migrations run after the lock, before traffic
   moves; the prober sees 0 failed requests.
2. the backfill, in batches, in the serving image.
3. v1.2 (reads the new field); the contract is refused while v1.1 is the rollback target.
4. v1.3; the contract is refused before CONTRACT_SOAK_HOURS, allowed after; a rollback
   to v1.1 is refused afterwards, and with --force it is recorded.
And a release whose expand migration fails stops with nothing moved, its down run.

Proven here with mongoeco: the Node driver's insertOne/updateMany/createIndex and the
find/count commands; the app's GET /api/users (findOne) is proven only on real MongoDB.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import require
from support.fleet import APP_NAME, missing_components
from support.fleet import fleet as make_fleet

from shipwright import PROJECT_ROOT
from shipwright.errors import ShipwrightError
from shipwright.migrate import backfill, commands, engine

pytestmark = pytest.mark.integration
STEPS = {
    "v1.0": "old",
    "v1.1": "expand",
    "v1.2": "switch",
    "v1.3": "contract",
    "v-broken": "expand",
}
BROKEN = """// @phase expand
// @collections users
'use strict';
module.exports = {
  async up(db) {
    await db.collection('users').updateMany({}, { $set: { broken: true } });
    throw new Error('no');
  },
  async down(db) {
    await db.collection('users').updateMany({}, { $unset: { broken: '' } });
  },
};
"""
DOCKERFILE = """\
FROM {base}
COPY package.json /app/package.json
COPY node_modules /app/node_modules
COPY src /app/src
COPY scripts /app/scripts
WORKDIR /app
ENV NODE_ENV=production
ENTRYPOINT ["dumb-init", "--"]
CMD ["node", "src/server.js"]
"""


def build_release_images(client, push_addr: str, base: str, work: Path) -> dict[str, str]:
    """One image per release (USER_EMAIL_STEP baked in, as a release's code would be);
    v-broken also carries a failing migration. Returns version -> repo:tag@digest."""
    repo = f"{push_addr}/{APP_NAME}"
    ctx = work / "ctx"
    app = PROJECT_ROOT / "app"
    for part in ("src", "scripts"):
        shutil.copytree(app / part, ctx / part)
    for part in ("package.json", "package-lock.json"):
        shutil.copy(app / part, ctx / part)
    subprocess.run(
        ["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=ctx,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (ctx / "Dockerfile").write_text(DOCKERFILE.format(base=base))
    client.images.build(path=str(ctx), tag=f"{repo}:mig-base", rm=True)
    (ctx / "scripts" / "migrations" / "0005-broken-expand.js").write_text(BROKEN)
    client.images.build(path=str(ctx), tag=f"{repo}:mig-broken", rm=True)
    refs = {}
    for version, step in STEPS.items():
        tag = "m" + version.replace(".", "-")
        parent = "mig-broken" if version == "v-broken" else "mig-base"
        text = f"FROM {repo}:{parent}\nENV USER_EMAIL_STEP={step}\n".encode()
        client.images.build(fileobj=io.BytesIO(text), tag=f"{repo}:{tag}", rm=True)
        for line in client.images.push(repo, tag=tag, stream=True, decode=True):
            assert "error" not in line, line
        digests = client.api.inspect_image(f"{repo}:{tag}")["RepoDigests"]
        digest = next(d for d in digests if d.startswith(repo + "@")).split("@", 1)[1]
        refs[version] = f"{repo}:{tag}@{digest}"
    return refs


@pytest.fixture(scope="module")
def world():
    missing = missing_components()
    require(not missing, f"real SSH hosts need: {', '.join(missing)}")
    require(shutil.which("npm") is not None, "npm builds the images' node_modules")
    import docker
    from support.sandbox import MongoEco, SandboxError, ensure_node_base
    from support.sandbox.mongowire import mongoeco_python

    try:
        mongoeco_python()
    except SandboxError as exc:
        require(False, str(exc))
    with make_fleet(2) as fleet, tempfile.TemporaryDirectory() as work:
        client = docker.from_env(timeout=300)
        try:
            base = ensure_node_base(client)
            fleet.images.update(
                build_release_images(client, fleet.hosts.push_addr, base, Path(work))
            )
        finally:
            client.close()
        with MongoEco(host=fleet.hosts.bridge_addr) as eco:
            yield fleet, eco.uri("learinal")


def settings_for(fleet, uri: str, **extra: str):
    values = {"MONGO_URI": uri, "MIGRATE_ON_DEPLOY": "true", "MIGRATE_BACKUP": "never", **extra}
    return fleet.settings(**values)


def post_user(fleet, email: str) -> int:
    host = fleet.hosts.hosts[0]
    request = urllib.request.Request(
        f"http://{host.address}:8080/api/users",
        data=json.dumps({"email": email}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=5) as answer:
        return answer.status


def deploy(fleet, uri: str, version: str, **extra: str):
    with fleet.prober() as prober:
        values = {"MONGO_URI": uri, "MIGRATE_ON_DEPLOY": "true", "MIGRATE_BACKUP": "never"}
        code, result = fleet.deploy(version, **{**values, **extra})
    return code, result, prober


def contract(fleet, uri: str, hours: str) -> tuple[int, str]:
    settings = settings_for(fleet, uri, CONTRACT_SOAK_HOURS=hours)
    try:
        with commands.session(settings, fleet.runner) as session:
            engine.up(session)
    except ShipwrightError as exc:
        return int(exc.exit_code), str(exc)
    return 0, ""


def _dry_deploy(fleet, uri: str, version: str, capsys) -> tuple[int, str]:
    """``invoke deploy --dry-run`` of ``version``: (exit code, what it printed)."""
    from shipwright.flow import commands as flow_commands
    from shipwright.runner import Runner
    from shipwright.targets.compose_hosts.target import ComposeHostsTarget

    settings = settings_for(fleet, uri)
    runner = Runner(dry_run=True)
    capsys.readouterr()
    try:
        flow_commands.deploy(
            settings,
            runner,
            release=fleet.release(version),
            target=ComposeHostsTarget(settings, runner),
            gates=False,
            watch=False,
        )
        code = 0
    except ShipwrightError as exc:
        code = int(exc.exit_code)
    return code, capsys.readouterr().out


def test_email_to_email_address_in_four_steps_with_zero_failed_requests(world, capsys):
    import pymongo

    fleet, uri = world
    users = pymongo.MongoClient(uri).learinal.users
    code, result, _ = deploy(fleet, uri, "v1.0", MIGRATE_ON_DEPLOY="false")
    assert code == 0, result
    for i in range(3):
        assert post_user(fleet, f"old{i}@example.org") == 201
    assert users.count_documents({"emailAddress": {"$exists": True}}) == 0

    # The dry run plans the expand migrations before the move and writes nothing.
    code, result = _dry_deploy(fleet, uri, "v1.1", capsys)
    assert code == 0, result
    assert "would run migration 0001-add-subscription-tier up (expand)" in result
    assert users.database.migrations_changelog.count_documents({}) == 0
    assert set(fleet.serving().values()) == {"v1.0"}

    # 1. v1.1: expand migrations before the move, then traffic moves; no request fails.
    code, result, prober = deploy(fleet, uri, "v1.1")
    assert code == 0, result
    assert prober.failed == 0 and prober.total > 0, prober.summary()
    runs = list(users.database.migrations_changelog.find({"kind": "run"}))
    assert {(r["name"], r["release"]) for r in runs} == {
        ("0001-add-subscription-tier", "v1.1"),
        ("0002-index-user-email-address", "v1.1"),
    }
    entry = fleet.history()[0]
    assert entry.version == "v1.1" and "migrations applied before the move" in entry.notes[0]
    assert users.count_documents({"subscriptionTier": "free"}) == 3
    assert post_user(fleet, "new1@example.org") == 201
    both = {"email": "new1@example.org", "emailAddress": "new1@example.org"}
    assert users.count_documents(both) == 1

    # 2. the backfill, in batches, in the serving image on the hosts.
    with commands.session(settings_for(fleet, uri), fleet.runner) as session:
        assert backfill.run(session, batch=2) == 3
    assert users.count_documents({"emailAddress": None}) == 0

    # 3. v1.2; contract refused while v1.1 is the rollback target (even with no soak).
    code, result, prober = deploy(fleet, uri, "v1.2")
    assert code == 0 and prober.failed == 0, (result, prober.summary())
    code, why = contract(fleet, uri, "0")
    assert code == 1 and "v1.1, the rollback target" in why, why

    # 4. v1.3; contract refused inside the soak window, allowed after it.
    code, result, prober = deploy(fleet, uri, "v1.3")
    assert code == 0 and prober.failed == 0, (result, prober.summary())
    code, why = contract(fleet, uri, "24")
    assert code == 1 and "serve healthy 24 h" in why, why
    assert users.count_documents({"email": {"$exists": True}}) == 4  # nothing changed
    time.sleep(2)
    assert contract(fleet, uri, "0.0005") == (0, "")  # 1.8 s
    assert users.count_documents({"email": {"$exists": True}}) == 0
    assert post_user(fleet, "new3@example.org") == 201
    assert users.find_one({"emailAddress": "new3@example.org"}).get("email") is None

    # Afterwards a rollback to v1.1 is refused (nothing moves), unless --force (recorded).
    extra = {"MONGO_URI": uri, "MIGRATE_ON_DEPLOY": "true"}
    code, refused = fleet.rollback("v1.1", **extra)
    assert code == 2 and "predates the applied contract migration" in str(refused), refused
    assert set(fleet.serving().values()) == {"v1.3"}
    code, result = fleet.rollback("v1.1", flags={"force": True}, **extra)
    assert code == 0, result
    assert any(n.startswith("FORCED (--force)") for n in fleet.history()[0].notes)


def test_a_failing_expand_stops_the_deploy_with_nothing_moved_and_runs_its_down(world, tmp_path):
    import pymongo

    fleet, uri = world
    db = pymongo.MongoClient(uri).learinal
    folder = tmp_path / "migrations"
    shutil.copytree(PROJECT_ROOT / "app" / "scripts" / "migrations", folder)
    (folder / "0005-broken-expand.js").write_text(BROKEN)
    # Everything before 0005 applied (the first test may not have run).
    settings = settings_for(fleet, uri, MIGRATIONS_DIR=str(folder), CONTRACT_SOAK_HOURS="0")
    before = fleet.serving()
    with commands.session(settings, fleet.runner) as session:
        applied = session.changelog.applied()
    if "0004-drop-user-email" not in applied:
        pytest.skip("needs the four-step test's state (run the module)")
    code, result, prober = deploy(fleet, uri, "v-broken", MIGRATIONS_DIR=str(folder))
    assert code == 1, result
    assert "stopped before any traffic moved" in str(result) and "its down ran" in str(result)
    assert fleet.serving() == before and prober.failed == 0
    assert db.users.count_documents({"broken": True}) == 0
    entry = fleet.history()[0]
    assert (entry.version, entry.result) == ("v-broken", "failed")
    last = list(db.migrations_changelog.find({"name": "0005-broken-expand"}).sort("at", 1))
    assert [(r["direction"], r["result"]) for r in last] == [("up", "failed"), ("down", "applied")]
