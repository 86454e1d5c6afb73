"""The ECS target's own overhead per deploy: API calls and seconds, without the time ECS
itself takes to roll tasks.

    python benchmarks/ecs_overhead.py [--runs 5]

Each run is one release through the deploy flow as ``invoke deploy --no-gates
--no-watch`` runs it (lock, register, update, follow, verify, ledger, retention) against
the local AWS endpoint (moto server on 127.0.0.1, started here). Time spent waiting
between two looks at the deployment is ECS's (moto settles at once, so it is ~0 here)
and is reported apart; everything else -- rendering, the API calls and their local
round trips, the flow's bookkeeping -- is the tool's. On AWS each call adds its
round trip (typically 30-100 ms), so the call count is the number to keep small.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ["SHIPWRIGHT_STATE_DIR"] = tempfile.mkdtemp(prefix="sw-bench-")  # postmortems

from support.ecsworld import EcsMoto, EcsWorld, aws_environ, release  # noqa: E402

from shipwright.aws.clients import AwsClients  # noqa: E402
from shipwright.flow import commands  # noqa: E402
from shipwright.output import table  # noqa: E402
from shipwright.runner import Runner  # noqa: E402
from shipwright.targets.ecs.target import EcsTarget  # noqa: E402


class Waiting:
    """The sleep the tracker uses, timed: that time belongs to ECS, not to the tool."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, seconds: float) -> None:
        began = time.perf_counter()
        time.sleep(seconds)
        self.seconds += time.perf_counter() - began


def one(world: EcsWorld, action: str, tag: str) -> tuple[float, float, Counter]:
    settings = world.settings()
    clients, waiting = AwsClients(settings), Waiting()
    target = EcsTarget(settings, Runner(echo=False), clients=clients, sleep=waiting)
    began = time.perf_counter()
    if action == "rollback":
        commands.rollback(settings, Runner(echo=False), target=target)
    else:
        commands.deploy(
            settings,
            Runner(echo=False),
            release=release(tag),
            gates=False,
            watch=False,
            target=target,
        )
    return time.perf_counter() - began, waiting.seconds, clients.calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    scenarios = {"deploy (new revision)": [], "deploy (same release again)": [], "rollback": []}
    with EcsMoto() as moto, aws_environ(moto):
        world = EcsWorld(moto).build()
        for i in range(runs):
            scenarios["deploy (new revision)"].append(one(world, "deploy", f"b{i}"))
            scenarios["deploy (same release again)"].append(one(world, "deploy", f"b{i}"))
            one(world, "deploy", f"c{i}")
            scenarios["rollback"].append(one(world, "rollback", ""))
    rows = []
    for name, samples in scenarios.items():
        overhead = [wall - wait for wall, wait, _ in samples]
        calls = samples[-1][2]
        by_service = Counter()
        for op, n in calls.items():
            by_service[op.split(".")[0]] += n
        rows.append(
            (
                name,
                str(len(samples)),
                f"{statistics.median(overhead):.3f}",
                f"{max(overhead):.3f}",
                f"{statistics.median(w for _, w, _ in samples):.3f}",
                str(sum(calls.values())),
                ", ".join(f"{s} {n}" for s, n in sorted(by_service.items())),
            )
        )
    table(
        "ECS target overhead per run (local AWS endpoint; waiting = ECS's time)",
        (
            "Scenario",
            "Runs",
            "Overhead median s",
            "Overhead max s",
            "Waiting s",
            "API calls",
            "Calls by service",
        ),
        rows,
    )
    detail = scenarios["deploy (new revision)"][-1][2]
    table(
        "API calls of one deploy (new revision)",
        ("Operation", "Calls"),
        sorted(((op, str(n)) for op, n in detail.items()), key=lambda r: -int(r[1])),
    )


if __name__ == "__main__":
    main()
