"""Processes on this machine: run a short command, stop a process tree, wait for a
service, take an inter-process file lock.

Why in the product: the local default starts the Docker engine and a registry on a
developer's machine (:mod:`shipwright.machine.dockerd`, :mod:`shipwright.machine.registry`)
and builds base images from its files (:mod:`shipwright.machine.rootfs`); the test
harness in ``tests/support`` builds its SSH hosts, nginx and AWS endpoint on these too.
Every failure quotes the tail of the process's log.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from shipwright.errors import ShipwrightError
from shipwright.retry import poll


class MachineError(ShipwrightError):
    """A process on this machine failed to start or stop; the message quotes its log."""


def log_tail(path: str | os.PathLike | None, lines: int = 30) -> str:
    """Last `lines` lines of a log file ('' when there is none)."""
    if not path:
        return ""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def _fail(msg: str, log: str | os.PathLike | None = None) -> MachineError:
    tail = log_tail(log)
    if tail:
        msg = f"{msg}\n--- last lines of {log} ---\n{tail}"
    return MachineError(msg)


def wait_until(
    predicate: Callable[[], object],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    log: str | os.PathLike | None = None,
    proc: subprocess.Popen | None = None,
) -> object:
    """Poll ``predicate`` until it returns something truthy, at most ``timeout`` s.

    If ``proc`` exits meanwhile, or the predicate raises MachineError, fail at once
    (other exceptions count as "not ready yet"). Errors quote ``log``'s tail.
    """

    def probe() -> object:
        if proc is not None and proc.poll() is not None:
            raise _fail(f"{what}: process exited with code {proc.returncode}", log)
        return predicate()

    polled = poll(
        probe,
        timeout=timeout,
        interval=interval,
        growth=1.5,
        max_interval=0.5,
        fatal=(MachineError,),
    )
    if polled.ok:
        return polled.value
    extra = f" (last error: {polled.error!r})" if polled.error else ""
    raise _fail(f"{what}: not ready after {timeout:.0f}s{extra}", log)


def run(
    argv: Sequence[str],
    *,
    timeout: float = 60,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess:
    """Run a short command, capture output; on failure raise with its stderr."""
    try:
        cp = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise MachineError(f"{' '.join(argv)}: timed out after {timeout}s") from exc
    except FileNotFoundError as exc:
        raise MachineError(f"{argv[0]}: not installed (run .ci/setup)") from exc
    if check and cp.returncode != 0:
        out = "\n".join((cp.stdout + cp.stderr).strip().splitlines()[-30:])
        raise MachineError(f"{' '.join(argv)}: exit {cp.returncode}\n{out}")
    return cp


def start_detached(argv: Sequence[str], log: str | os.PathLike) -> None:
    """Start ``argv`` in a session of its own with init as its parent (``setsid
    --fork``), output appended to ``log``: it outlives this process on purpose."""
    with open(log, "ab") as out:
        subprocess.run(
            ["setsid", "--fork", *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=10,
            close_fds=True,
        )


def pid_alive(pid: int | None) -> bool:
    """True if `pid` exists and is not a zombie."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _ppid_map() -> dict[int, int]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    out[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return out


def descendants(pid: int) -> list[int]:
    """All live descendants of `pid` (children first-level first)."""
    children: dict[int, list[int]] = {}
    for child, parent in _ppid_map().items():
        children.setdefault(parent, []).append(child)
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(0), []):
            out.append(c)
            todo.append(c)
    return out


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop_process(
    proc: subprocess.Popen | int | None,
    *,
    timeout: float = 10,
    sig: int = signal.SIGTERM,
) -> None:
    """Stop a process, its process group and its descendants.

    `sig` first, SIGKILL after `timeout`.  Works for Popen objects and bare
    pids (e.g. read from a pidfile); idempotent.
    """
    if proc is None:
        return
    pid = proc if isinstance(proc, int) else proc.pid
    popen = None if isinstance(proc, int) else proc
    if popen is not None and popen.poll() is not None:
        tree: list[int] = []
    else:
        tree = descendants(pid)
    if not pid_alive(pid) and not tree:
        if popen is not None:
            popen.poll()
        return
    _signal(pid, sig)
    if popen is not None:  # started by us in a new session: pid is the group id
        _signal_group(pid, sig)

    def gone() -> bool:
        if popen is not None:
            popen.poll()
        return not pid_alive(pid)

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not gone():
        time.sleep(0.05)
    for p in [pid, *tree]:
        if pid_alive(p):
            _signal(p, signal.SIGKILL)
    if popen is not None:
        _signal_group(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=5)
    else:
        end = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < end:
            time.sleep(0.05)


def tcp_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if a TCP connect to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def file_lock(path: str | os.PathLike, timeout: float = 120) -> Iterator[None]:
    """Exclusive inter-process lock (flock) on `path`, bounded wait."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise MachineError(f"lock {path}: still held after {timeout}s") from exc
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
