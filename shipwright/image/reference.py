"""Image references: the one parser (:class:`ImageRef`), which registry a repository
lives in, and what a valid tag is.

Any registry works (``127.0.0.1:5000/learinal-backend``, ``docker.io/learinal/x``,
``ghcr.io/org/x``), so the registry is read from the repository the way Docker does:
the first path component is a registry host when it has a dot, a colon or is
``localhost``; otherwise the image lives on Docker Hub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from shipwright.errors import ConfigError

DOCKER_HUB = "docker.io"
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")


def _split(repository: str) -> tuple[str, str]:
    first, sep, rest = repository.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host = DOCKER_HUB if first in ("index.docker.io", "registry-1.docker.io") else first
        return host, rest
    return DOCKER_HUB, repository


@dataclass(frozen=True)
class ImageRef:
    """``[registry/]path[:tag][@sha256:…]`` split the way Docker splits it."""

    repository: str  # registry and path as written, without tag or digest
    tag: str = ""
    digest: str = ""

    @classmethod
    def parse(cls, reference: str) -> ImageRef:
        name, _, digest = reference.strip().partition("@")
        last = name.rsplit("/", 1)[-1]
        tag = last.split(":", 1)[1] if ":" in last else ""
        repository = name[: len(name) - len(last)] + last.split(":", 1)[0]
        if not repository:
            raise ConfigError(f"{reference!r} is not an image reference")
        return cls(repository, tag, digest)

    @property
    def registry(self) -> str:
        return registry_of(self.repository)

    @property
    def path(self) -> str:
        """The repository inside its registry, as written (no ``library/`` added)."""
        return _split(self.repository)[1]

    @property
    def pinned(self) -> bool:
        return bool(DIGEST.fullmatch(self.digest))

    def require_digest(self, why: str = "deploys go by digest only") -> ImageRef:
        if not self.pinned:
            raise ConfigError(
                f"image {str(self)!r} has no sha256 digest: {why} "
                "(push the image first, or pass --image repo@sha256:…)"
            )
        return self

    def by_digest(self) -> str:
        """``repo@sha256:…`` (a ConfigError when there is no digest)."""
        return f"{self.require_digest().repository}@{self.digest}"

    def on_registry(self, registry: str | None) -> ImageRef:
        """The same image as reached through another registry address (a mirror)."""
        if not registry:
            return self
        return replace(self, repository=f"{registry.rstrip('/')}/{self.path}")

    def __str__(self) -> str:
        text = self.repository + (f":{self.tag}" if self.tag else "")
        return text + (f"@{self.digest}" if self.digest else "")


def registry_of(repository: str) -> str:
    """The registry host of ``repository`` (``docker.io`` when none is named)."""
    return _split(repository)[0]


def path_of(repository: str) -> str:
    """The repository path inside its registry (``library/`` added on Docker Hub)."""
    host, path = _split(repository)
    if host == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return path


def check_repository(repository: str) -> str:
    """``repository`` unchanged, or a ConfigError saying what is wrong with it."""
    if ":" in repository.rsplit("/", 1)[-1] or "@" in repository:
        raise ConfigError(
            f"IMAGE_REPOSITORY must not carry a tag or digest: {repository!r} "
            "(tags come from the git branch and sha)"
        )
    path = path_of(repository)
    if not repository or not all(_COMPONENT.fullmatch(part) for part in path.split("/")):
        raise ConfigError(
            f"IMAGE_REPOSITORY {repository!r} is not a valid repository "
            "(lower-case path components, e.g. 127.0.0.1:5000/learinal-backend)"
        )
    return repository


def check_tag(tag: str) -> str:
    if not TAG.fullmatch(tag):
        raise ConfigError(f"{tag!r} is not a valid image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})")
    return tag
