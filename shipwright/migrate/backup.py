"""Backups of the collections a migration declares, taken before it runs in staging and
production, and their restore.

``mongodump --archive --gzip`` (one archive per collection) when the tool is on PATH,
else an archive written through pymongo: gzip of BSON documents -- a header, then per
collection its indexes and every document -- restored by dropping the collection,
re-creating its indexes and inserting the documents. The URI reaches mongodump and
mongorestore in a 0600 ``--config`` file, never on the command line. A JSON sidecar
(``ID.json``) says which tool wrote a backup, from which database, of what.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from shipwright.errors import ConfigError, ShipwrightError
from shipwright.migrate.changelog import utcnow
from shipwright.output import say
from shipwright.runner import Runner
from shipwright.settings import Settings

FORMAT = "shipwright-mongo-archive/1"
INSERT_BATCH = 500


@dataclass(frozen=True)
class Backup:
    id: str
    location: str
    tool: str  # mongodump | pymongo
    database: str
    collections: tuple[str, ...]
    created: str
    migration: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def backup_dir(settings: Settings) -> Path:
    configured = settings.get("MIGRATE_BACKUP_DIR")
    folder = Path(configured) if configured else settings.state_dir / "migrate-backups"
    return folder if folder.is_absolute() else settings.root / folder


def wanted(settings: Settings) -> bool:
    """MIGRATE_BACKUP: always, never, or auto -- staging and production."""
    mode = settings.get("MIGRATE_BACKUP", "auto")
    return mode == "always" or (
        mode == "auto" and settings.environment in ("staging", "production")
    )


def tool() -> str:
    return "mongodump" if shutil.which("mongodump") and shutil.which("mongorestore") else "pymongo"


def take(
    settings: Settings, runner: Runner, db: Any, collections: tuple[str, ...], migration: str
) -> Backup:
    """Back ``collections`` up (planned only under --dry-run)."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")[:-3]
    ident = f"{settings.environment}-{stamp}-{migration}"
    folder = backup_dir(settings)
    made = Backup(
        ident,
        str(folder / ident),
        tool(),
        db.name,
        tuple(collections),
        utcnow().isoformat(timespec="seconds"),
        migration,
    )
    what = f"back up {', '.join(collections)} to {made.location} ({made.tool})"
    runner.api(what, _write, settings, runner, db, made)
    return made


def _write(settings: Settings, runner: Runner, db: Any, made: Backup) -> None:
    path = Path(made.location)
    path.mkdir(parents=True, mode=0o700)
    if made.tool == "mongodump":
        with _config_file(settings) as config:
            for name in made.collections:
                runner.local(
                    [
                        "mongodump",
                        f"--config={config}",
                        f"--db={made.database}",
                        f"--collection={name}",
                        f"--archive={path / (name + '.archive.gz')}",
                        "--gzip",
                    ],
                    quiet=True,
                )
    else:
        _dump(db, made, path / "archive.bson.gz")
    sidecar = path.parent / f"{made.id}.json"
    sidecar.write_text(json.dumps(made.to_dict(), indent=2, sort_keys=True))
    os.chmod(sidecar, 0o600)


def _dump(db: Any, made: Backup, archive: Path) -> None:
    import bson

    fd = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as out:
        out.write(bson.encode({"format": FORMAT, "database": made.database}))
        for name in made.collections:
            indexes = [dict(i) for i in db[name].list_indexes() if i["name"] != "_id_"]
            for index in indexes:
                index["key"] = list(dict(index["key"]).items())
                index.pop("ns", None)
                index.pop("v", None)
            out.write(bson.encode({"collection": name, "indexes": indexes}))
            for doc in db[name].find({}).sort("_id", 1):
                out.write(bson.encode({"c": name, "d": doc}))


def load(settings: Settings, ident: str) -> Backup:
    """The backup ``ident`` from its sidecar; ConfigError listing what exists when absent."""
    folder = backup_dir(settings)
    sidecar = folder / f"{Path(ident).name}.json"
    if not sidecar.is_file():
        known = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
        shown = ", ".join(known[-5:]) or "none"
        raise ConfigError(f"no backup {ident!r} in {folder} (newest: {shown})")
    data = json.loads(sidecar.read_text())
    data["collections"] = tuple(data.get("collections", ()))
    return Backup(**data)


def restore(settings: Settings, runner: Runner, db: Any, made: Backup) -> None:
    """Put the backed-up collections back as they were (planned only under --dry-run)."""
    if made.database != db.name:
        raise ConfigError(
            f"backup {made.id} is of database {made.database!r}, MONGO_URI names {db.name!r}"
        )
    what = f"restore {', '.join(made.collections)} from {made.location} ({made.tool})"
    runner.api(what, _restore, settings, runner, db, made)


def _restore(settings: Settings, runner: Runner, db: Any, made: Backup) -> None:
    path = Path(made.location)
    if made.tool == "mongodump":
        with _config_file(settings) as config:
            for name in made.collections:
                runner.local(
                    [
                        "mongorestore",
                        f"--config={config}",
                        f"--nsInclude={made.database}.{name}",
                        f"--archive={path / (name + '.archive.gz')}",
                        "--gzip",
                        "--drop",
                    ],
                    quiet=True,
                )
        return
    _load_archive(db, path / "archive.bson.gz")


def _load_archive(db: Any, archive: Path) -> None:
    import bson

    with gzip.open(archive, "rb") as stream:
        docs = bson.decode_file_iter(stream)
        header = next(docs, None)
        if not header or header.get("format") != FORMAT:
            raise ShipwrightError(f"{archive} is not a {FORMAT} archive")
        batch: list[dict[str, Any]] = []
        current = None
        for item in docs:
            if "collection" in item:
                _flush(current, batch)
                current = db[item["collection"]]
                current.drop()
                for index in item["indexes"]:
                    keys = index.pop("key")
                    current.create_index(keys, **{k: v for k, v in index.items()})
                continue
            batch.append(item["d"])
            if len(batch) >= INSERT_BATCH:
                _flush(current, batch)
        _flush(current, batch)
    say(f"✔ restored {archive.parent.name}")


def _flush(coll: Any, batch: list[dict[str, Any]]) -> None:
    if coll is not None and batch:
        coll.insert_many(batch, ordered=True)
    batch.clear()


@contextlib.contextmanager
def _config_file(settings: Settings) -> Iterator[str]:
    """A 0600 YAML file with the URI for mongodump/mongorestore ``--config``."""
    folder = tempfile.mkdtemp(prefix="sw-mongo-")
    path = Path(folder) / "config.yaml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"uri: {json.dumps(settings['MONGO_URI'])}\n")
    try:
        yield str(path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
