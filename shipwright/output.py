"""Everything the user reads: status lines, tables, JSON and the CI step summary.

All of it goes through the redaction layer. rich honours NO_COLOR and plain output
when stdout is not a terminal.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from shipwright.redact import REDACTOR

OK, FAIL, SKIP = "✔", "✘", "–"


def console():
    from rich.console import Console

    # file=None makes rich write to whatever sys.stdout is now (the redacting stream);
    # logs and CI shells are not terminals, and 80 columns would truncate the tables.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
    return Console(highlight=False, soft_wrap=True, width=width)


def say(text: str = "", *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(REDACTOR.redact(text) + "\n")
    stream.flush()


def status(ok: bool | None, text: str) -> None:
    """One ✔/✘ line (None: skipped)."""
    mark = SKIP if ok is None else OK if ok else FAIL
    say(f"{mark} {text}")


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    from rich.table import Table

    grid = Table(title=REDACTOR.redact(title), title_justify="left")
    for column in columns:
        grid.add_column(column, overflow="fold")  # wrap, never cut a value short
    for row in rows:
        grid.add_row(*(REDACTOR.redact("" if cell is None else str(cell)) for cell in row))
    console().print(grid)
    sys.stdout.flush()


def emit_json(data: Any) -> None:
    say(json.dumps(REDACTOR.redact_obj(data), indent=2, sort_keys=True, default=str))


def step_summary(markdown: str) -> None:
    """Append to $GITHUB_STEP_SUMMARY when CI provides it."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(REDACTOR.redact(markdown).rstrip() + "\n\n")


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
