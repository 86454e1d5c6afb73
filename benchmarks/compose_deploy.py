"""Deploy and rollback time on 1, 3 and 10 real SSH hosts, failed requests during each,
and the tool's overhead next to what it cannot avoid (image pull, container start).

    python benchmarks/compose_deploy.py [--hosts 1,3,10] [--rate 40]

Every host is a network namespace with its own dockerd, sshd and nginx
(support.sandbox.SshHosts); the cheap loopback mode shares one engine and one port
space between hosts, which blue-green on fixed slot ports cannot use, so 10 hosts run
isolated too (about 120 MB each). Batches are ceil(hosts / 3), i.e. three batches.
A prober sends bounded traffic through every host's nginx during each run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.fleet import fleet, missing_components  # noqa: E402

from shipwright.flow import release as flow  # noqa: E402
from shipwright.flow.session import opened  # noqa: E402
from shipwright.output import table  # noqa: E402

UNAVOIDABLE = ("pull", "start", "ready")


def run(f, action: str, rate: float, batch: int, version: str | None = None):
    """One deploy or rollback under probing, through the deploy flow as ``invoke deploy
    --no-gates --no-watch`` runs it; returns (flow result, prober, wall seconds)."""
    settings = f.settings(DEPLOY_BATCH_SIZE=str(batch))
    opts = flow.Options(gates=False, watch=False, reason="bench")
    with opened(settings, f.runner, staging=False) as dep:
        with f.prober(rate) as prober, contextlib.redirect_stdout(io.StringIO()):
            started = time.monotonic()
            if action == "deploy":
                result = flow.deploy(dep, f.release(version), opts)
            else:
                result = flow.rollback(dep, None, opts)
            wall = time.monotonic() - started
    if not result.ok:
        raise SystemExit(f"{action} failed on {len(f.hosts.hosts)} hosts: {result.outcome}")
    return result, prober, wall


def measure(n: int, rate: float) -> list[tuple]:
    batch = max(1, math.ceil(n / 3))
    rows = []
    with fleet(n) as f:
        with contextlib.redirect_stdout(io.StringIO()):
            first = f.deploy("v1", DEPLOY_BATCH_SIZE=str(batch))
        assert first[0] == 0, first[1]
        for label, action, version in (
            ("deploy v1→v2", "deploy", "v2"),
            ("rollback v2→v1", "rollback", None),
        ):
            result, prober, wall = run(f, action, rate, batch, version)
            phases = result.outcome.phases
            unavoidable = sum(phases.get(p, 0.0) for p in UNAVOIDABLE)
            rows.append(
                (
                    n,
                    batch,
                    label,
                    f"{wall:.1f}",
                    f"{prober.failed}/{prober.total}",
                    prober.keepalive_retries,
                    f"{phases.get('pull', 0.0):.1f}",
                    f"{phases.get('start', 0.0) + phases.get('ready', 0.0):.1f}",
                    f"{wall - unavoidable:.1f} ({(wall - unavoidable) / wall:.0%})",
                )
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="1,3,10", help="host counts, comma-separated")
    parser.add_argument("--rate", type=float, default=40, help="probe requests/s per host")
    args = parser.parse_args()
    missing = missing_components()
    if missing:
        print(f"cannot run: missing {', '.join(missing)}", file=sys.stderr)
        return 2
    rows = []
    for n in (int(x) for x in args.hosts.split(",")):
        print(f"… {n} host(s)", file=sys.stderr)
        rows += measure(n, args.rate)
    table(
        "Compose hosts: blue-green rolling deploy and rollback (seconds)",
        (
            "Hosts",
            "Batch",
            "Run",
            "Total s",
            "Failed/requests",
            "Keep-alive retries",
            "Pull s",
            "Start+ready s",
            "Tool overhead s",
        ),
        rows,
    )
    print(
        "Pull and start+ready are the wall time of those steps (all hosts of a batch in "
        "parallel); tool overhead is the rest: SSH round trips, env upload, nginx switch "
        "and generation check, health gates, verification, ledger and lock. A keep-alive "
        "retry is a reused connection nginx closed on reload before answering, retried once "
        "as HTTP clients do; it is not a failed request. v2 shares every layer with v1 (only "
        "a label differs), so its pull is a manifest fetch: a real release also pulls its "
        "changed layers."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
