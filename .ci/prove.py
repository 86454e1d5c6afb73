"""Prove that each component the test suite starts for real works on this machine.

    python3 .ci/prove.py [--mongoeco VENV]

Each check starts the component the way the suite does (on loopback, in a folder of its
own), asks it one question and stops it: the Docker engine answers ``docker info``, the
registry answers ``/v2/``, nginx serves a page, Redis answers PING, sshd sends its banner,
a network namespace can be made, the mongoeco venv's server answers a ping from its
pymongo. An installed file is not proof: a package can be present and broken (mongoeco
without pymongo installs cleanly and closes every connection).

Prints one line per component on stderr; prints the Debian packages whose check failed on
stdout (one per line) so that .ci/setup can reinstall them; exits 1 when anything failed.
Standard library only: it runs before the project is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MONGOECO_SERVER = ROOT / "tests" / "support" / "sandbox" / "mongoeco_server.py"
TIMEOUT = 30.0


class Failed(Exception):
    """A component did not answer: the message says what was tried and what came back."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, answer: Callable[[], bool], proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + TIMEOUT
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise Failed(f"{what} exited with {proc.returncode}: {tail(proc)}")
        try:
            if answer():
                return
        except Exception as exc:  # noqa: BLE001 - not ready yet; the last one is reported
            last = exc
        time.sleep(0.2)
    raise Failed(f"{what} did not answer in {TIMEOUT:.0f}s ({last or 'no answer'})")


def tail(proc: subprocess.Popen) -> str:
    log = getattr(proc, "log_path", None)
    text = Path(log).read_text(errors="replace") if log and Path(log).exists() else ""
    return " | ".join(text.strip().splitlines()[-3:]) or "no output"


@contextlib.contextmanager
def started(
    argv: list[str], work: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    log = work / "output.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    proc.log_path = str(log)  # type: ignore[attr-defined]
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
        return response.status == 200


def banner(port: int, expect: bytes, send: bytes = b"") -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        if send:
            s.sendall(send)
        return s.recv(64).startswith(expect)


# --------------------------------------------------------------------------- components


def engine(work: Path) -> None:
    """An engine already running (a laptop's, an earlier run's) is left alone; otherwise
    one starts with the suite's flags in a folder of its own, answers, and stops."""
    if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0:
        return
    sock = work / "docker.sock"
    argv = [
        "dockerd",
        "--iptables=false",
        "--bridge=none",
        "--ip-forward=false",
        "--ip-masq=false",
        "--storage-driver=overlay2",
        "-H",
        f"unix://{sock}",
        "--data-root",
        str(work / "data"),
        "--exec-root",
        str(work / "exec"),
        "--pidfile",
        str(work / "dockerd.pid"),
    ]
    with started(argv, work) as proc:
        info = ["docker", "-H", f"unix://{sock}", "info"]
        wait_for("dockerd", lambda: subprocess.run(info, capture_output=True).returncode == 0, proc)


def registry(work: Path) -> None:
    port = free_port()
    config = work / "registry.yml"
    config.write_text(
        "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: "
        f"{work / 'storage'}\nhttp:\n  addr: 127.0.0.1:{port}\n"
    )
    with started(["docker-registry", "serve", str(config)], work) as proc:
        wait_for("docker-registry", lambda: http_ok(f"http://127.0.0.1:{port}/v2/"), proc)


def nginx(work: Path) -> None:
    port = free_port()
    (work / "logs").mkdir()
    config = work / "nginx.conf"
    config.write_text(
        "pid nginx.pid; error_log stderr; events {}\n"
        "http { access_log off;\n"
        f"  server {{ listen 127.0.0.1:{port}; location / {{ return 200 'ok'; }} }} }}\n"
    )
    test = subprocess.run(
        ["nginx", "-t", "-c", str(config), "-p", str(work)], capture_output=True, text=True
    )
    if test.returncode:
        raise Failed(f"nginx -t: {test.stderr.strip()}")
    argv = ["nginx", "-c", str(config), "-p", str(work), "-g", "daemon off;"]
    with started(argv, work) as proc:
        wait_for("nginx", lambda: http_ok(f"http://127.0.0.1:{port}/"), proc)


def redis(work: Path) -> None:
    port = free_port()
    argv = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(work),
    ]
    with started(argv, work) as proc:
        wait_for("redis-server", lambda: banner(port, b"+PONG", b"PING\r\n"), proc)


def sshd(work: Path) -> None:
    port, key = free_port(), work / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    config = work / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1:{port}\nHostKey {key}\nPidFile {work / 'sshd.pid'}\n"
        "PasswordAuthentication no\nStrictModes no\nUsePAM no\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation
    with started(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], work) as proc:
        wait_for("sshd", lambda: banner(port, b"SSH-2.0-"), proc)


def netns(work: Path) -> None:
    name = f"swprove{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode:
        raise Failed(f"ip netns add: {made.stderr.strip()}")
    subprocess.run(["ip", "netns", "delete", name], check=False)


def tools(work: Path) -> None:
    """What the suite runs as plain commands: the app's Node toolchain, kubectl's offline
    kustomize, and the files the local base images are made of."""
    for argv in (
        ["node", "--version"],
        ["npm", "--version"],
        ["kubectl", "version", "--client"],
        ["busybox", "true"],
        ["dumb-init", "--version"],
    ):
        if shutil.which(argv[0]) is None:
            raise Failed(f"{argv[0]} is not installed")
        ran = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if ran.returncode:
            raise Failed(f"{' '.join(argv)} exited {ran.returncode}: {ran.stderr.strip()[-200:]}")


def mongoeco(work: Path, venv: Path) -> None:
    python = venv / "bin" / "python"
    if not python.is_file():
        raise Failed(f"no venv at {venv}")
    port = free_port()
    ping = (
        "import pymongo, sys; c = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=1000);"
        " c.admin.command('ping')"
    )
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    argv = [str(python), str(MONGOECO_SERVER), "127.0.0.1", str(port)]

    def answers() -> bool:
        asked = subprocess.run([str(python), "-c", ping, uri], capture_output=True, text=True)
        if asked.returncode:
            raise Failed((asked.stderr.strip().splitlines() or ["no output"])[-1][:300])
        return True

    with started(argv, work, env={"PATH": os.environ["PATH"]}) as proc:
        wait_for("the mongoeco server", answers, proc)


#: name -> (check, the Debian package that provides it; "" when not one package)
CHECKS: dict[str, tuple[Callable[[Path], None], str]] = {
    "docker engine": (engine, "docker.io"),
    "registry": (registry, "docker-registry"),
    "nginx": (nginx, "nginx"),
    "redis": (redis, "redis-server"),
    "sshd": (sshd, "openssh-server"),
    "network namespaces": (netns, "iproute2"),
    "tools": (tools, ""),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mongoeco", type=Path, help="also prove this mongoeco venv")
    parser.add_argument("--only", nargs="*", help="prove only these components")
    args = parser.parse_args()
    checks = {name: c for name, c in CHECKS.items() if not args.only or name in args.only}
    if args.mongoeco:
        checks["mongoeco"] = (lambda work: mongoeco(work, args.mongoeco), "")
    failed = False
    for name, (check, package) in checks.items():
        work = Path(tempfile.mkdtemp(prefix="sw-prove-"))
        try:
            check(work)
            print(f"ci/prove: {name}: works", file=sys.stderr)
        except (Failed, OSError, subprocess.SubprocessError) as exc:
            failed = True
            print(f"ci/prove: {name}: FAILED: {exc}", file=sys.stderr)
            if package:
                print(package)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
