"""The pipeline's own cost: a warm ``nox -s ci`` next to its stage commands run by hand,
and ``nox -s ci`` from a fresh clone.

    python benchmarks/pipeline.py [--runs 2] [--cold] [--empty-cache]

Warm: the sessions' virtualenvs exist (one untimed run makes them); then ``nox -s ci``
and the same stages typed by hand -- ``invoke lint``, ``invoke test``, ``invoke audit``,
``invoke local.prepare``, ``invoke image.build``/``image.push``/``deploy --env
development`` (same watch window) -- take turns, and the medians are compared. Cold:
``git clone`` of this checkout's HEAD into a temporary folder, then ``nox -s ci`` there
(with ``--empty-cache``, also with an empty uv cache: every wheel downloaded again).

Both deploy to the local default on this machine. So that this never touches another
checkout's stack, the runs use their own APP_NAME, PORT and REDIS_PORT (process
environment, above every envs/ file).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from shipwright.output import table  # noqa: E402

#: This benchmark's own local stacks (see the module docstring): warm runs, fresh clones.
ISOLATED = {"APP_NAME": "swbench", "PORT": "3470", "REDIS_PORT": "6470"}
FRESH = {"APP_NAME": "swbenchfresh", "PORT": "3480", "REDIS_PORT": "6480"}
STAGES = (
    ("invoke", "lint"),
    ("invoke", "test"),
    ("invoke", "audit"),
    ("invoke", "image.build", "--env", "development"),
    ("invoke", "image.push", "--env", "development"),
    ("invoke", "deploy", "--env", "development"),
)


def environment(stack: dict[str, str] = ISOLATED, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "VIRTUAL_ENV")}
    return {**env, **stack, "NO_COLOR": "1", **extra}


def take_down(cwd: Path, env: dict[str, str]) -> None:
    """The benchmark's stack goes again (nothing of it keeps running on the machine)."""
    argv = ["invoke", "local.down", "--volumes"]
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=300)


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    began = time.monotonic()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - began
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-120:])
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}) in {cwd}:\n{tail}")
    return seconds


def by_hand(cwd: Path, env: dict[str, str]) -> float:
    """The stages as a developer types them (local.prepare's overrides exported, as the
    ci session does)."""
    began = time.monotonic()
    prepare = subprocess.run(
        ["invoke", "local.prepare", "--json"], cwd=cwd, env=env, capture_output=True, text=True
    )
    if prepare.returncode != 0:
        raise SystemExit(f"invoke local.prepare failed:\n{prepare.stdout}{prepare.stderr}")
    env = {**env, **json.loads(prepare.stdout)}
    for argv in STAGES:
        timed(list(argv), cwd, env)
    return time.monotonic() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="warm runs of each (medians)")
    parser.add_argument("--cold", action="store_true", help="also nox -s ci from a fresh clone")
    parser.add_argument("--empty-cache", action="store_true", help="cold with an empty uv cache")
    args = parser.parse_args()
    env = environment()
    rows = []
    if args.runs:
        print("… warming the sessions' virtualenvs (untimed)", file=sys.stderr)
        timed(["nox", "-s", "ci"], ROOT, env)
        nox_s, hand_s = [], []
        for run in range(args.runs):
            print(f"… warm run {run + 1} of {args.runs}", file=sys.stderr)
            nox_s.append(timed(["nox", "-s", "ci"], ROOT, env))
            hand_s.append(by_hand(ROOT, env))
        take_down(ROOT, env)
        nox_m, hand_m = statistics.median(nox_s), statistics.median(hand_s)
        rows.append(("warm nox -s ci", _list(nox_s), f"{nox_m:.0f}", f"{nox_m / hand_m:.2f}"))
        rows.append(("stage commands by hand", _list(hand_s), f"{hand_m:.0f}", "1.00"))
    caches = [False] + ([True] if args.empty_cache else [])
    for empty in caches if args.cold else []:
        with tempfile.TemporaryDirectory(prefix="sw-fresh-") as tmp:
            clone = Path(tmp) / "clone"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            extra = {"UV_CACHE_DIR": str(Path(tmp) / "uv-cache")} if empty else {}
            what = "empty uv cache" if empty else "uv cache as left by earlier runs"
            print(f"… fresh clone ({what})", file=sys.stderr)
            fresh = environment(FRESH, **extra)
            try:
                seconds = timed(["nox", "-s", "ci"], clone, fresh)
            finally:
                take_down(clone, fresh)
            took = f"{seconds:.0f}"
            rows.append((f"fresh clone, {what}: nox -s ci", took, took, "-"))
            shutil.rmtree(clone / ".nox", ignore_errors=True)
    table(
        "The pipeline: nox -s ci next to its stages by hand (seconds)",
        ("Run", "Each run", "Median", "× by hand"),
        rows,
    )
    print(
        "Both deploy to the local default (development) with its watch window; the app's "
        "tests run for real in the test stage. Warm: the sessions' virtualenvs exist and "
        "pyproject.toml is unchanged, so no session installs anything."
    )
    return 0


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
