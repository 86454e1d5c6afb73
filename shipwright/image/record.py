"""What was built and pushed: one small JSON file per version under .shipwright/images/.

Why: a deploy names a version (``--version develop-1a2b3c4``) but must roll out an
immutable image, ``repo:tag@sha256:…``. The push records the registry's digest here
and :func:`resolve` turns a version back into that reference (or says which versions
exist). One file per version keeps concurrent builds of different branches apart and
each write atomic.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from shipwright import PROJECT_ROOT
from shipwright.errors import ConfigError
from shipwright.image.reference import TAG
from shipwright.state import state_dir

SHOWN_VERSIONS = 5


@dataclass
class ImageRecord:
    version: str  # the version tag, e.g. develop-1a2b3c4
    repository: str
    tags: list[str]
    git_sha: str
    branch: str
    created: str  # ISO 8601, UTC (also the image's CREATED build argument)
    target: str = "production"
    image_id: str = ""
    digest: str = ""  # the registry's manifest digest, once pushed
    pushed: str = ""  # when it was pushed
    registries: list[str] = field(default_factory=list)

    @property
    def reference(self) -> str:
        """``repo:version@sha256:…`` once pushed, ``repo:version`` before."""
        base = f"{self.repository}:{self.version}"
        return f"{base}@{self.digest}" if self.digest else base

    def to_dict(self) -> dict:
        return {**asdict(self), "reference": self.reference}

    @classmethod
    def from_dict(cls, data: dict) -> ImageRecord:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def records_dir(root: Path = PROJECT_ROOT) -> Path:
    return state_dir(root) / "images"


def _path(version: str, root: Path) -> Path:
    if not TAG.fullmatch(version):
        raise ConfigError(f"{version!r} is not a valid version (an image tag such as main-1a2b3c4)")
    return records_dir(root) / f"{version}.json"


def save(record: ImageRecord, root: Path = PROJECT_ROOT) -> Path:
    """Write the record atomically (temp file + rename); returns its path."""
    path = _path(record.version, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{record.version}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record.to_dict(), handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(version: str, root: Path = PROJECT_ROOT) -> ImageRecord | None:
    path = _path(version, root)
    if not path.is_file():
        return None
    return ImageRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))


def known(root: Path = PROJECT_ROOT) -> list[ImageRecord]:
    """Every recorded version, newest first."""
    records = []
    folder = records_dir(root)
    for path in folder.glob("*.json") if folder.is_dir() else ():
        try:
            records.append(ImageRecord.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue  # a damaged record must not hide the others
    return sorted(records, key=lambda r: (r.pushed or r.created, r.version), reverse=True)


def latest_for_branch(branch: str, root: Path = PROJECT_ROOT) -> ImageRecord | None:
    """The newest record built from ``branch`` (its image seeds the build cache)."""
    return next((r for r in known(root) if r.branch == branch), None)


def resolve(version: str, root: Path = PROJECT_ROOT, *, pushed: bool = True) -> ImageRecord:
    """The record of ``version``; ConfigError (exit 2) naming a few known versions when
    there is none, or when ``pushed`` is asked and it was never pushed (no digest)."""
    record = load(version, root)
    if record is None:
        versions = [r.version for r in known(root) if r.digest or not pushed]
        shown = ", ".join(versions[:SHOWN_VERSIONS]) or "none recorded yet (run invoke image.push)"
        more = (
            f" and {len(versions) - SHOWN_VERSIONS} more" if len(versions) > SHOWN_VERSIONS else ""
        )
        raise ConfigError(f"version {version} does not exist; known versions: {shown}{more}")
    if pushed and not record.digest:
        raise ConfigError(
            f"version {version} was built but never pushed, so it has no digest "
            f"(run invoke image.push)"
        )
    return record
