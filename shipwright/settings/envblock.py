"""A block of settings the tool owns inside an env file: rewritten as a whole on each run,
every line outside it left as the user wrote it."""

from __future__ import annotations

from pathlib import Path


def write_block(path: Path, values: dict[str, str], marks: tuple[str, str]) -> None:
    """Rewrite the block between ``marks`` of ``path``;
    every other line stays as it was."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    first, last = marks
    if first in lines:
        start = lines.index(first)
        end = lines.index(last, start) if last in lines[start:] else len(lines) - 1
        del lines[start : end + 1]
    block = [first, *(f"{k}={v}" for k, v in sorted(values.items())), last]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([*lines, *block]) + "\n", encoding="utf-8")
    path.chmod(0o600)
