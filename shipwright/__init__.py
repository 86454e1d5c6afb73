"""shipwright: agentless deployment and CI tasks for a containerised backend.

The Invoke collections in ``tasks/`` and the sessions in ``noxfile.py`` are thin
surfaces over this package; everything here imports without Invoke.
"""

import os
from pathlib import Path

__version__ = "0.1.0"


def _project_root() -> Path:
    """The project this library serves: SHIPWRIGHT_PROJECT_ROOT, else the nearest folder at
    or above the working directory holding ``envs/`` beside ``tasks.py`` or ``noxfile.py``
    (where Invoke and nox find their files), else this checkout (shipwright's own).
    Never the installed package's folder: installed with pip, the project is elsewhere."""
    configured = os.environ.get("SHIPWRIGHT_PROJECT_ROOT")
    if configured:
        return Path(configured).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "envs").is_dir() and any(
            (folder / name).is_file() for name in ("tasks.py", "noxfile.py")
        ):
            return folder
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "envs").is_dir() else here


#: The project checkout this library serves (envs/, app/, noxfile.py live here).
PROJECT_ROOT = _project_root()
