"""The loaded settings of one environment, with each value's provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shipwright.errors import ConfigError
from shipwright.redact import MASK
from shipwright.settings.schema import Schema, schema_for, secret_by_name


@dataclass(frozen=True)
class Source:
    """Which layer set a value: a file and line, the process environment, --set, a default."""

    layer: str
    file: Path | None = None
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.layer}:{self.line}" if self.line else self.layer


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Settings:
    environment: str
    values: dict[str, str]
    sources: dict[str, Source]
    root: Path
    files: list[Path] = field(default_factory=list)
    schema: Schema | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.schema is None:
            self.schema = schema_for(self.root)

    @property
    def state_dir(self) -> Path:
        """Where the tool keeps what it writes (:mod:`shipwright.state`)."""
        from shipwright.state import VARIABLE, state_dir

        return state_dir(self.root, self.get(VARIABLE))

    def get(self, key: str, default: str | None = None) -> str | None:
        value = self.values.get(key)
        return default if value in (None, "") else value

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            local = f"envs/.env.{self.environment}.local"
            raise ConfigError(
                f"{key} is not set for {self.environment!r} (set it in {local}, "
                f"the process environment or with --set {key}=...)"
            )
        return value

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def number(self, key: str) -> float:
        return float(self[key])

    def integer(self, key: str) -> int:
        return int(self[key])

    def items_list(self, key: str) -> list[str]:
        """A comma-separated value as a list (empty when unset)."""
        return [part.strip() for part in (self.get(key) or "").split(",") if part.strip()]

    def is_secret(self, key: str) -> bool:
        var = self.schema.get(key)
        return var.secret if var is not None else secret_by_name(key)

    def secret_values(self) -> list[str]:
        return [v for k, v in self.values.items() if v and self.is_secret(k)]

    def app_environment(self) -> dict[str, str]:
        """What the application receives: declared ``ship`` variables plus undeclared keys
        from the env files (a team may add app settings the tool does not know)."""
        shipped = {}
        for key, value in self.values.items():
            var = self.schema.get(key)
            if (var.ship if var else self.sources[key].file is not None) and value != "":
                shipped[key] = value
        return shipped

    def redacted(self) -> dict[str, str]:
        return {k: (MASK if self.is_secret(k) and v else v) for k, v in self.values.items()}

    def provenance(self) -> dict[str, str]:
        return {k: str(self.sources[k]) for k in self.values}
