"""Where the tool keeps everything it writes on this machine: CI records, image records,
the local Compose env files, postmortems, the local target's lock and ledger.

One folder, ``.shipwright/`` at the project root unless SHIPWRIGHT_STATE_DIR says
otherwise (in an env file, ``--set`` or the process environment; a relative path is
taken from the project root). Tests point it at a folder of their own, so a test run
never reads or changes a developer's state.
"""

from __future__ import annotations

import os
from pathlib import Path

from shipwright import PROJECT_ROOT

VARIABLE = "SHIPWRIGHT_STATE_DIR"
DEFAULT = ".shipwright"


def state_dir(root: Path = PROJECT_ROOT, configured: str | None = None) -> Path:
    """``configured`` (a settings value), else $SHIPWRIGHT_STATE_DIR, else ``.shipwright``;
    relative paths under ``root``."""
    path = Path(configured or os.environ.get(VARIABLE) or DEFAULT).expanduser()
    return path if path.is_absolute() else root / path
