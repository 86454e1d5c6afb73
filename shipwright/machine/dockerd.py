"""The Docker engine the local default and the tests build, push and deploy with.

Why: on a fresh CI machine no engine runs; on a laptop one already does.
`ensure_engine()` leaves an answering engine alone and otherwise starts
`dockerd` *detached* (own session, re-parented to init) so that it outlives the
Python process: the engine is meant to persist across test runs and nox
sessions.  It never touches the machine's network (`--iptables=false
--bridge=none`); 127.0.0.0/8 registries are insecure (plain HTTP) by default.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from shipwright.machine.process import (
    MachineError,
    file_lock,
    log_tail,
    pid_alive,
    start_detached,
    stop_process,
    wait_until,
)

DEFAULT_HOST = "unix:///var/run/docker.sock"
STATE_DIR = Path(os.environ.get("SHIPWRIGHT_MACHINE_STATE", "/var/tmp/shipwright-machine"))
LOG = STATE_DIR / "dockerd.log"
PIDFILE = "/var/run/docker.pid"
_STARTED_MARK = STATE_DIR / "dockerd.started-by-shipwright"


def engine_answers(docker_host: str, timeout: float = 3) -> bool:
    """True if the engine at `docker_host` answers a ping (`docker info`)."""
    import docker  # imported lazily: the SDK is only needed when an engine is

    try:
        client = docker.DockerClient(base_url=docker_host, timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - any failure means "not answering"
        return False


def _socket_path(docker_host: str) -> str | None:
    if docker_host.startswith("unix://"):
        return docker_host[len("unix://") :]
    return None


def ensure_engine(
    docker_host: str | None = None,
    *,
    timeout: float = 60,
    insecure_registries: tuple[str, ...] = (),
) -> str:
    """Return a DOCKER_HOST whose engine answers, starting dockerd if needed.

    `docker_host` defaults to $DOCKER_HOST, then the standard socket.  An engine
    that answers is left alone.  Otherwise (unix sockets only) a detached
    dockerd is started and awaited for at most `timeout` seconds.
    """
    host = docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_HOST
    if engine_answers(host):
        return host
    sock = _socket_path(host)
    if sock is None:
        raise MachineError(
            f"Docker engine at {host} does not answer (and is not a local socket to start)"
        )
    dockerd = shutil.which("dockerd") or shutil.which("dockerd", path="/usr/sbin:/usr/bin")
    if not dockerd:
        raise MachineError("dockerd: not installed (run .ci/setup)")
    with file_lock(STATE_DIR / "dockerd.lock"):
        if engine_answers(host):  # someone else started it while we waited
            return host
        pidfile = PIDFILE if host == DEFAULT_HOST else str(Path(sock).with_suffix(".pid"))
        if _wait_for_previous(pidfile, host):
            return host
        if host == DEFAULT_HOST:
            _drop_stale_containerd_pidfile("/var/run/docker/containerd/containerd.pid")
        argv = [dockerd, "--iptables=false", "--bridge=none", "--storage-driver=overlay2"]
        argv += ["-H", host, "--pidfile", pidfile]
        if host != DEFAULT_HOST:  # a second engine must not share the default one's state
            base = Path(sock).parent
            argv += ["--data-root", f"{base}/docker-data", "--exec-root", f"{base}/docker-exec"]
        for reg in insecure_registries:
            argv += ["--insecure-registry", reg]
        LOG.parent.mkdir(parents=True, exist_ok=True)
        with open(LOG, "ab") as log:
            log.write(f"\n=== {time.ctime()} starting: {' '.join(argv)}\n".encode())
            offset = log.tell()
        start_detached(argv, LOG)  # dockerd outlives this process on purpose

        def ready() -> bool:
            if engine_answers(host, timeout=2):
                return True
            with open(LOG, "rb") as fh:
                fh.seek(offset)
                new = fh.read()
            if b"failed to start daemon" in new or b"setsid: failed" in new:
                raise MachineError(f"dockerd on {host} failed to start\n{log_tail(LOG)}")
            return False

        wait_until(ready, timeout=timeout, what=f"dockerd on {host}", log=LOG)
        _STARTED_MARK.write_text(pidfile)
    return host


def _wait_for_previous(pidfile: str, host: str, timeout: float = 30) -> bool:
    """A dockerd named in `pidfile` that is alive but not answering is still
    starting or stopping: wait for it.  True if it came up; a dead one's
    pidfile is removed."""
    try:
        pid = int(Path(pidfile).read_text().strip() or 0)
    except (OSError, ValueError):
        return False
    end = time.monotonic() + timeout
    while pid_alive(pid):
        if engine_answers(host, timeout=2):
            return True
        if time.monotonic() > end:
            raise MachineError(
                f"dockerd pid {pid} ({pidfile}) is alive but does not answer\n{log_tail(LOG)}"
            )
        time.sleep(0.2)
    Path(pidfile).unlink(missing_ok=True)
    return False


def _drop_stale_containerd_pidfile(pidfile: str) -> None:
    """dockerd waits forever for a 'running' managed containerd named in this
    file; after a crash the pid may be a zombie or belong to another program."""
    try:
        pid = int(Path(pidfile).read_text().strip() or 0)
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            is_containerd = b"containerd" in fh.read()
    except (OSError, ValueError):
        is_containerd = False
        pid = 0
    if not (is_containerd and pid_alive(pid)):
        Path(pidfile).unlink(missing_ok=True)


def stop_engine(timeout: float = 30) -> bool:
    """Stop the engine *only if this module started it*; True if one was stopped."""
    try:
        pidfile = _STARTED_MARK.read_text().strip()
        pid = int(Path(pidfile).read_text().strip())
    except (OSError, ValueError):
        return False
    stop_process(pid, timeout=timeout)
    _STARTED_MARK.unlink(missing_ok=True)
    return True
