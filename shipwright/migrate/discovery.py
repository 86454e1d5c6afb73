"""The migration modules of the app: ``NNNN-name.js`` in MIGRATIONS_DIR, ordered by their
numeric prefix, each declaring its phase and the collections it touches in a header.

Why a header (``// @phase expand``) and not the module's exports: the engine decides what
may run (and what to back up) before any Node process or image is involved, on a machine
that may not have the app's dependencies installed; the runner reads the same file.

    // @phase expand | backfill | contract
    // @collections users, accounts
    // @release v1.2        (contract: from this release on the code needs no old shape)
    // @irreversible         (no down(): the backup is the way back)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from shipwright.errors import ConfigError

PHASES = ("expand", "backfill", "contract")
FILE_NAME = re.compile(r"(?P<prefix>\d+)-(?P<slug>[a-z0-9][a-z0-9-]*)\.js")
TAG = re.compile(r"^\s*(?://+|/?\*+)\s*@(?P<key>[a-z-]+)\b(?P<value>[^*]*)")
KNOWN_TAGS = ("phase", "collections", "release", "irreversible")
COLLECTION = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Migration:
    name: str  # the file name without .js: what the runner and the changelog call it
    path: Path
    phase: str
    collections: tuple[str, ...]
    checksum: str  # sha256 of the file's bytes
    release: str = ""  # contract only: the release from which the old shape is not needed
    reversible: bool = True

    @property
    def prefix(self) -> int:
        return int(self.name.split("-", 1)[0])


def checksum_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def discover(folder: Path) -> list[Migration]:
    """Every migration in ``folder``, in order; one ConfigError naming every bad file (and
    line) when any is malformed. A missing folder has no migrations."""
    if not folder.is_dir():
        return []
    problems: list[str] = []
    found: list[Migration] = []
    prefixes: dict[int, str] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix != ".js":
            continue
        match = FILE_NAME.fullmatch(path.name)
        if not match:
            problems.append(f"{path}: not a migration name (want NNNN-lower-case-name.js)")
            continue
        migration = _parse(path, problems)
        if migration is None:
            continue
        other = prefixes.setdefault(migration.prefix, migration.name)
        if other != migration.name:
            problems.append(f"{path}: prefix {migration.prefix} is also {other}.js (order unclear)")
            continue
        found.append(migration)
    if problems:
        raise ConfigError(
            f"the migrations in {folder} are not valid: {len(problems)} problem(s)\n"
            + "\n".join(f"  ✘ {p}" for p in problems)
        )
    return sorted(found, key=lambda m: m.prefix)


def _parse(path: Path, problems: list[str]) -> Migration | None:
    tags: dict[str, str] = {}
    before = len(problems)
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        match = TAG.match(line)
        if not match:
            continue
        key, value = match["key"], match["value"].strip()
        if key not in KNOWN_TAGS:
            problems.append(f"{path}:{number}: unknown tag @{key} (known: {', '.join(KNOWN_TAGS)})")
        elif key in tags:
            problems.append(f"{path}:{number}: @{key} given twice")
        else:
            tags[key] = value
    phase = tags.get("phase", "")
    if phase not in PHASES:
        problems.append(f"{path}: declare // @phase {' | '.join(PHASES)} (got {phase or 'none'!r})")
    collections = tuple(c.strip() for c in tags.get("collections", "").split(",") if c.strip())
    if not collections:
        problems.append(f"{path}: declare // @collections the migration changes (for backups)")
    bad = [c for c in collections if not COLLECTION.fullmatch(c)]
    if bad:
        problems.append(f"{path}: not collection names: {', '.join(bad)}")
    release = tags.get("release", "")
    if phase == "contract" and not release:
        problems.append(
            f"{path}: a contract migration names the release from which the code no longer "
            "needs the old shape: // @release VERSION"
        )
    if release and phase != "contract":
        problems.append(f"{path}: @release is for contract migrations, not {phase}")
    if len(problems) != before:
        return None
    return Migration(
        name=path.stem,
        path=path,
        phase=phase,
        collections=collections,
        checksum=checksum_of(path),
        release=release,
        reversible="irreversible" not in tags,
    )


def find(migrations: list[Migration], name: str) -> Migration:
    """The migration called ``name`` (with or without .js); ConfigError listing the known."""
    wanted = name.removesuffix(".js")
    for migration in migrations:
        if migration.name == wanted:
            return migration
    known = ", ".join(m.name for m in migrations) or "none"
    raise ConfigError(f"no migration named {name!r} (known: {known})")
