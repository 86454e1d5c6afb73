"""Shared process helpers for the sandbox components.

Why: every component (dockerd, registry, nginx, redis, moto, sshd) is a real
process started the same way -- own process group, output to a log file in a
work dir, readiness polled with a bounded timeout -- and every failure must say
*why* by quoting the tail of that log.  Keeping this in one place keeps the
component modules short.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

__all__ = [
    "SandboxError",
    "free_port",
    "wait_until",
    "log_tail",
    "run",
    "start_process",
    "stop_process",
    "pid_alive",
    "descendants",
    "tcp_answers",
    "http_get",
    "http_status",
    "make_work_dir",
    "file_lock",
]

# urllib must never route sandbox traffic through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SandboxError(RuntimeError):
    """A sandbox component failed to start/stop; the message quotes its log."""


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


def _fail(msg: str, log: str | os.PathLike | None = None) -> SandboxError:
    tail = log_tail(log)
    if tail:
        msg = f"{msg}\n--- last lines of {log} ---\n{tail}"
    return SandboxError(msg)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(
    predicate: Callable[[], object],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    log: str | os.PathLike | None = None,
    proc: subprocess.Popen | None = None,
) -> object:
    """Poll `predicate` until it returns something truthy, at most `timeout` s.

    If `proc` exits meanwhile, or the predicate raises SandboxError, fail at
    once (other exceptions count as "not ready yet").  Errors quote `log`'s tail.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            result = predicate()
            if result:
                return result
        except SandboxError:
            raise  # the probe saw a definite failure: no point in waiting
        except Exception as exc:  # noqa: BLE001 - readiness probes fail while starting
            last_exc = exc
        if proc is not None and proc.poll() is not None:
            raise _fail(f"{what}: process exited with code {proc.returncode}", log)
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise _fail(f"{what}: not ready after {timeout:.0f}s{extra}", log)
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


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
        raise SandboxError(f"{' '.join(argv)}: timed out after {timeout}s") from exc
    except FileNotFoundError as exc:
        raise SandboxError(f"{argv[0]}: not installed (run .ci/setup)") from exc
    if check and cp.returncode != 0:
        out = "\n".join((cp.stdout + cp.stderr).strip().splitlines()[-30:])
        raise SandboxError(f"{' '.join(argv)}: exit {cp.returncode}\n{out}")
    return cp


def start_process(
    argv: Sequence[str],
    log_path: str | os.PathLike,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
) -> subprocess.Popen:
    """Start `argv` in its own session/process group, stdout+stderr -> log_path."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        try:
            return subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                env=dict(env) if env is not None else None,
                cwd=cwd,
            )
        except FileNotFoundError as exc:
            raise SandboxError(f"{argv[0]}: not installed (run .ci/setup)") from exc


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


def http_get(
    url: str, *, timeout: float = 2, method: str = "GET", data: bytes | None = None
) -> tuple[int, bytes, dict]:
    """(status, body, headers) for `url`, never via a proxy; HTTP errors are returned."""
    req = urllib.request.Request(url, method=method, data=data)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers or {})


def http_status(url: str, timeout: float = 2) -> int:
    return http_get(url, timeout=timeout)[0]


class ProcessService:
    """One server process on 127.0.0.1 with a work folder: ``with Service() as s``
    starts it (free port, log in the folder, waits until :meth:`ready`) and always
    stops it, removing the folder when the service made it. Subclasses say what to
    run (:meth:`argv`) and when it answers (:meth:`ready`)."""

    name = "service"

    def __init__(
        self,
        *,
        port: int | None = None,
        work_dir: str | os.PathLike | None = None,
        timeout: float = 10,
    ):
        self.host = "127.0.0.1"
        self.port, self.timeout = port, timeout
        self._own_dir = work_dir is None
        self.work_dir = Path(work_dir) if work_dir else None
        self.proc: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        assert self.work_dir is not None
        return self.work_dir / f"{self.name}.log"

    def argv(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def process_env(self) -> dict[str, str] | None:
        return None

    def start(self):
        if self.proc is not None and self.proc.poll() is None:
            return self
        if self.work_dir is None:
            self.work_dir = make_work_dir(self.name)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.proc = start_process(self.argv(), self.log, env=self.process_env(), cwd=self.work_dir)
        try:
            wait_until(
                self.ready,
                timeout=self.timeout,
                what=f"{self.name} on {self.host}:{self.port}",
                log=self.log,
                proc=self.proc,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=5)
            self.proc = None
        if self._own_dir and self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def make_work_dir(prefix: str, base: str | os.PathLike | None = None) -> Path:
    """A fresh private directory (under $SHIPWRIGHT_SANDBOX_DIR or /tmp)."""
    base = base or os.environ.get("SHIPWRIGHT_SANDBOX_DIR") or None
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"sw-{prefix}-", dir=base))


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
                    raise SandboxError(f"lock {path}: still held after {timeout}s") from exc
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
