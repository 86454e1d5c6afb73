"""How long ``invoke --list`` takes for this project next to an empty Invoke collection
(the floor: Python and Invoke starting), median of several runs of each, interleaved.

    python benchmarks/invoke_list.py [--runs 9]

The goal is <= 1.5x the floor: every task module imports only Invoke and shipwright's
light modules at load time (boto3, docker, fabric, kubernetes, pymongo load inside the
task bodies).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shipwright.output import table  # noqa: E402

#: The floor: a collection with one trivial task (Invoke refuses a collection of none).
EMPTY = "from invoke import task\n\n\n@task\ndef hello(c):\n    pass\n"


def timed(cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "invoke", "--list"],
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as empty:
        Path(empty, "tasks.py").write_text(EMPTY)
        timed(ROOT), timed(Path(empty))  # warm the file cache
        project, floor = [], []
        for _ in range(args.runs):
            project.append(timed(ROOT))
            floor.append(timed(Path(empty)))
    p, f = statistics.median(project), statistics.median(floor)
    table(
        f"invoke --list, median of {args.runs} runs (seconds)",
        ("Collection", "Median s", "Ratio", "Goal"),
        [
            ("one-task Invoke collection (floor)", f"{f:.3f}", "1.00x", ""),
            ("this project", f"{p:.3f}", f"{p / f:.2f}x", "≤ 1.50x"),
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
