"""Deploy and rollback on 1, 3 and 10 real SSH hosts: the tool from its CLI next to a
raw-shell floor doing the same steps on the same hosts, with failed requests counted.

    python benchmarks/compose_deploy.py [--hosts 1,3,10] [--runs 3] [--rate 20]

Every host is a network namespace with its own dockerd, sshd and nginx
(support.sandbox.SshHosts). The tool runs as a user runs it -- ``invoke deploy --env
test --image … --no-gates --no-watch`` and ``invoke rollback``, timed from the process's
start to its exit -- and the floor is benchmarks/floor.sh (plain ssh, docker, nginx,
curl; one ssh per host per phase). Each keeps its own app on the hosts, and the two
take turns, run after run, so the machine's noise hits both alike; medians are shown.

A rollback inside the keep-warm window switches to the colour still running; for one
after it the deploy runs with DEPLOY_KEEP_WARM=2 and WATCH_SECONDS=0, then ``invoke
prune`` (and the floor's ``stop``) stops that colour, so the rollback starts it again.
Batches are ceil(hosts / 3), for both. A prober sends bounded traffic through every
host's nginx of the app being moved.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.fleet import PROXY_PORT, fleet, missing_components  # noqa: E402

from shipwright.checks.prober import Prober  # noqa: E402
from shipwright.output import table  # noqa: E402
from shipwright.targets.compose_hosts import commands as cmd  # noqa: E402

FLOOR = ROOT / "benchmarks" / "floor.sh"
FLOOR_PORT = PROXY_PORT + 10
SHORT = {"DEPLOY_KEEP_WARM": "2", "WATCH_SECONDS": "0"}  # host clocks count whole seconds
PHASES = ("start-up", "settings", "connect", "lock", "current", "pull", "start", "ready")
PHASES += ("switch", "verify", "prune", "ledger")


class Bench:
    """One fleet: the tool's CLI and the floor, each timed under its own prober."""

    def __init__(self, f, rate: float, state: str):
        self.f, self.rate = f, rate
        self.hosts = f.hosts.hosts
        self.batch = max(1, math.ceil(len(self.hosts) / 3))
        self.env = {**os.environ, "SHIPWRIGHT_STATE_DIR": state, "NO_COLOR": "1", "CI": ""}

    def prober(self, port: int) -> Prober:
        urls = {h.name: f"http://{h.address}:{port}/version" for h in self.hosts}
        return Prober(urls, rate=self.rate)

    def tool(self, *args: str, probe: bool = True, **extra: str) -> tuple[float, dict, str]:
        """``invoke ARGS --env test [--json]`` against the fleet: (wall s, the JSON when
        the task prints it, failed/sent requests)."""
        values = self.f.overrides(DEPLOY_BATCH_SIZE=str(self.batch), **extra)
        sets = [a for k, v in values.items() for a in ("--set", f"{k}={v}")]
        as_json = ["--json"] if args[0] in ("deploy", "rollback") else []
        argv = ["invoke", *args, "--env", "test", *as_json, *sets]
        with self.prober(PROXY_PORT) if probe else contextlib.nullcontext() as prober:
            began = time.monotonic()
            done = subprocess.run(
                argv, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=900
            )
            wall = time.monotonic() - began
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}")
        return wall, _json(done.stdout) if as_json else {}, _failed(prober)

    def floor(self, action: str, version: str, probe: bool = True) -> tuple[float, str]:
        env = {
            **os.environ,
            "FLOOR_HOSTS": " ".join(h.address for h in self.hosts),
            "SSH_USER": self.f.hosts.user,
            "SSH_KEY": self.f.hosts.key_file,
            "IMAGE": cmd.pull_reference(self.f.images[version], self.f.hosts.registry_addr),
            "VERSION": version,
            "BATCH": str(self.batch),
            "PROXY_PORT": str(FLOOR_PORT),
            "BASE_PORT": str(FLOOR_PORT + 100),
        }
        with self.prober(FLOOR_PORT) if probe else contextlib.nullcontext() as prober:
            began = time.monotonic()
            done = subprocess.run(
                ["bash", str(FLOOR), action], env=env, capture_output=True, text=True, timeout=900
            )
            wall = time.monotonic() - began
        if done.returncode != 0:
            raise SystemExit(f"floor {action} failed:\n{done.stdout}{done.stderr}")
        return wall, _failed(prober)


def _json(stdout: str) -> dict:
    """The --json object in a task's output (progress lines come before it)."""
    start = stdout.index("\n{") + 1 if not stdout.startswith("{") else 0
    return json.JSONDecoder().raw_decode(stdout[start:])[0]


def _failed(prober: Prober | None) -> str:
    return "-" if prober is None else f"{prober.failed}/{prober.total}"


def measure(n: int, runs: int, rate: float) -> tuple[list[tuple], dict[str, dict[str, float]]]:
    samples: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    phases: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    def tool(kind: str, *args: str, **extra: str) -> None:
        wall, data, failed = bench.tool(*args, **extra)
        move = data["metrics"].get("deployment_seconds") or data["metrics"]["rollback_seconds"]
        samples[kind]["tool"].append(wall)
        samples[kind]["move"].append(move)
        samples[kind]["tool_failed"].append(failed)
        for name in PHASES:
            phases[kind][name].append(data["phases"].get(name, 0.0))

    def floor(kind: str, action: str, version: str) -> None:
        wall, failed = bench.floor(action, version)
        samples[kind]["floor"].append(wall)
        samples[kind]["floor_failed"].append(failed)

    with fleet(n) as f, tempfile.TemporaryDirectory(prefix="sw-bench-") as state:
        bench = Bench(f, rate, state)
        v1, v2 = f.images["v1"], f.images["v2"]
        bench.tool("deploy", "--image", v1, "--no-gates", "--no-watch", probe=False)
        bench.floor("deploy", "v1", probe=False)
        for run in range(runs):
            print(f"… {n} host(s): run {run + 1} of {runs}", file=sys.stderr)
            deploy = ("deploy", "--image", v2, "--no-gates", "--no-watch")
            tool("deploy v1→v2", *deploy)
            floor("deploy v1→v2", "deploy", "v2")
            tool("rollback, warm (inside keep-warm)", "rollback")
            floor("rollback, warm (inside keep-warm)", "warm", "v1")

            tool("deploy v1→v2", *deploy, **SHORT)
            floor("deploy v1→v2", "deploy", "v2")
            time.sleep(2.5)  # the keep-warm time (2 s) is over
            bench.tool("prune", probe=False, **SHORT)
            bench.floor("stop", "v2", probe=False)
            tool("rollback, cold (after keep-warm)", "rollback", **SHORT)
            floor("rollback, cold (after keep-warm)", "cold", "v1")
    rows = []
    for kind, got in samples.items():
        tool_s, floor_s = statistics.median(got["tool"]), statistics.median(got["floor"])
        rows.append(
            (
                n,
                bench.batch,
                kind,
                f"{tool_s:.2f}",
                f"{statistics.median(got['move']):.2f}",
                f"{floor_s:.2f}",
                f"{tool_s / floor_s:.2f}",
                ", ".join(got["tool_failed"]),
                ", ".join(got["floor_failed"]),
            )
        )
    medians = {k: {p: statistics.median(v) for p, v in ph.items()} for k, ph in phases.items()}
    return rows, medians


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="1,3,10", help="host counts, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind (medians shown)")
    parser.add_argument("--rate", type=float, default=20, help="probe requests/s per host")
    args = parser.parse_args()
    missing = missing_components() + [b for b in ("ssh", "invoke") if not _which(b)]
    if missing:
        print(f"cannot run: missing {', '.join(missing)}", file=sys.stderr)
        return 2
    rows, phase_rows = [], []
    for n in (int(x) for x in args.hosts.split(",")):
        with contextlib.redirect_stdout(io.StringIO()):
            got, medians = measure(n, args.runs, args.rate)
        rows += got
        for kind, values in medians.items():
            phase_rows.append((n, kind, *(f"{values.get(p, 0.0):.2f}" for p in PHASES)))
    table(
        "Compose hosts: the tool (CLI start to exit) next to the raw-shell floor, same hosts",
        (
            "Hosts",
            "Batch",
            "Run",
            "Tool s",
            "Move s",
            "Floor s",
            "Tool/floor",
            "Failed/requests (tool)",
            "Failed/requests (floor)",
        ),
        rows,
    )
    table("Where the tool's seconds go (medians, s)", ("Hosts", "Run", *PHASES), phase_rows)
    print(
        f"Medians of {args.runs} runs of each kind; the tool and the floor take turns on the "
        "same hosts. Tool s: `invoke` from process start to exit (Python start-up, settings, "
        "SSH connect, lock, ledger, verify, prune included); Move s: the ledger's deployment "
        "or rollback time (lock taken to traffic moved). Floor s: benchmarks/floor.sh, the "
        "same steps by hand. v2 shares every layer with v1 (only a label differs): its pull "
        "is a manifest fetch for both."
    )
    return 0


def _which(binary: str) -> bool:
    from shutil import which

    return which(binary) is not None


if __name__ == "__main__":
    sys.exit(main())
