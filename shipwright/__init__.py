"""shipwright: agentless deployment and CI tasks for a containerised backend.

The Invoke collections in ``tasks/`` and the sessions in ``noxfile.py`` are thin
surfaces over this package; everything here imports without Invoke.
"""

from pathlib import Path

__version__ = "0.1.0"

#: The project checkout this library serves (envs/, app/, noxfile.py live here).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
