"""N SSH "hosts" for agentless-deploy tests: really separate, or cheap loopback ones.

Why: deploy code talks to hosts over SSH (Fabric) and drives each host's own
Docker engine and nginx.  To test rollouts, host failures and port clashes for
real, each host here is its own network namespace with its own address,
dockerd (+containerd) and sshd -- the recipe of shared/ENVIRONMENT.md:

    root ns --veth-- [switch ns: bridge] --veth-- host ns (10.213.X.10+i, no default route)

The root side of the bridge gets 10.213.X.1; the connected route carries the
test's traffic into the namespaces and nowhere else.  A registry listener on
10.213.X.1 serves the images the main engine pushed to 127.0.0.1 (same
storage).  A blackhole route for 10.213.0.0/16 (metric 4242, below every
sandbox's connected /24) stays in place so that nothing sent to a torn-down
sandbox address can ever leave the machine.

`SshHosts(n, isolated=False)` is the cheap mode: sshd on 127.0.0.2.. sharing
the root engine (hosts then also share ports and containers).

Every host's sshd sets, for each session: DOCKER_HOST (its engine),
SHIPWRIGHT_HOST_ROOT (a writable per-host dir, e.g. for `nginx -p`),
SHIPWRIGHT_HOST_NAME and SHIPWRIGHT_HOST_ADDRESS.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from shipwright.machine.dockerd import engine_answers, ensure_engine

from ._proc import (
    SandboxError,
    descendants,
    file_lock,
    free_port,
    make_work_dir,
    pid_alive,
    run,
    start_process,
    stop_process,
    wait_until,
)
from .registry import Registry

__all__ = ["SshHost", "SshHosts", "cleanup_stale", "remove_guard_route", "GUARD_CIDR"]

GUARD_CIDR = "10.213.0.0/16"
GUARD_METRIC = "4242"
_STATE = (
    Path("/run/shipwright-sandbox")
    if os.geteuid() == 0
    else Path(tempfile.gettempdir()) / f"shipwright-sandbox-{os.getuid()}"
)
_PREFIX = "shpw"  # netns / link names: shpw<X>-sw, shpw<X>-h<i>, shpw<X>-root


_NO_IPV6 = ("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
# The machine's network must stay untouched: no iptables, no bridge, no forwarding.
_DOCKERD_FLAGS = (
    "--iptables=false",
    "--bridge=none",
    "--ip-forward=false",
    "--ip-masq=false",
    "--storage-driver=overlay2",
    "--shutdown-timeout=3",
)


def _binary(name: str) -> str:
    """Absolute path (sshd must be started by absolute path; sbin may not be on PATH)."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not path:
        raise SandboxError(f"{name}: not installed (run .ci/setup)")
    return path


# --------------------------------------------------------------------------- hosts


@dataclass
class SshHost:
    """One SSH host.  `address`/`port` is where its sshd listens."""

    name: str
    address: str
    port: int
    docker_host: str
    state_dir: str
    netns: str | None = None
    dir: Path = field(default=Path("."), repr=False)
    sshd: subprocess.Popen | None = field(default=None, repr=False)
    dockerd: subprocess.Popen | None = field(default=None, repr=False)
    containerd: subprocess.Popen | None = field(default=None, repr=False)
    up: bool = False

    @property
    def docker_dir(self) -> Path:
        return self.dir / "docker"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(["ip", *args], check=check, timeout=20)


def _ns_sysctl(ns: str, *settings: str) -> None:
    # `ip netns exec` is fine for sysctl (only dockerd must not be run through it).
    run(["ip", "netns", "exec", ns, "sysctl", "-qw", *settings], check=False)


def _proc_start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _mounts_under(path: Path) -> list[str]:
    """Mount points at or below `path`, deepest first."""
    root = os.path.realpath(path)
    out = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            mp = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if mp == root or mp.startswith(root + "/"):
                out.append(mp)
    return sorted(set(out), key=lambda p: p.count("/"), reverse=True)


def _unmount_under(path: Path) -> None:
    for _ in range(3):  # stacked mounts need more than one pass
        mps = _mounts_under(path)
        if not mps:
            return
        for mp in mps:
            run(["umount", "-l", mp], check=False, timeout=10)


def _pids_referencing(text: str) -> list[int]:
    """Processes whose command line mentions `text` (e.g. a host's work dir)."""
    needle = text.encode()
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if needle in fh.read():
                        out.append(int(entry))
            except OSError:
                pass
    return out


def _netns_pids(ns: str) -> list[int]:
    if not os.path.exists(f"/run/netns/{ns}"):
        return []
    cp = run(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in cp.stdout.split() if p.isdigit()]


def _kill_all(pids: Iterable[int]) -> None:
    """SIGKILL pids and all their descendants (collected first), then wait briefly."""
    victims: list[int] = []
    for pid in pids:
        victims += [pid, *descendants(pid)]
    for pid in victims:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    end = time.monotonic() + 5
    while any(pid_alive(p) for p in victims) and time.monotonic() < end:
        time.sleep(0.05)


def _kill_host_processes(work: Path, netns: list[str]) -> None:
    pids = set(_pids_referencing(f"{work}/"))
    for ns in netns:
        pids.update(_netns_pids(ns))
    pids.discard(os.getpid())
    if pids:
        _kill_all(sorted(pids))


# --------------------------------------------------------------------------- routes


def _ensure_guard_route() -> None:
    cp = _ip("-4", "route", "show", "type", "blackhole", GUARD_CIDR, check=False)
    if GUARD_CIDR.split("/")[0] not in cp.stdout:
        _ip("route", "add", "blackhole", GUARD_CIDR, "metric", GUARD_METRIC)


def remove_guard_route() -> None:
    """Drop the 10.213.0.0/16 blackhole (only do this when no code may still send there)."""
    _ip("route", "del", "blackhole", GUARD_CIDR, "metric", GUARD_METRIC, check=False)


def _subnet_in_use(x: int) -> bool:
    net = f"10.213.{x}."
    if os.path.exists(_STATE / f"{_PREFIX}{x}.json") or os.path.exists(
        f"/run/netns/{_PREFIX}{x}-sw"
    ):
        return True
    addrs = _ip("-4", "-o", "addr", check=False).stdout
    routes = _ip("-4", "route", "show", "table", "all", check=False).stdout
    return net in addrs or any(
        line.startswith(net) or f" {net}" in line
        for line in routes.splitlines()
        if "blackhole" not in line
    )


# --------------------------------------------------------------------------- stale cleanup


def _teardown_recorded(state: dict) -> None:
    work = Path(state["work_dir"])
    netns = list(state.get("netns", []))
    _kill_host_processes(work, netns)
    _unmount_under(work)
    if state.get("root_link"):
        _ip("link", "del", state["root_link"], check=False)
    for ns in reversed(netns):
        _ip("netns", "delete", ns, check=False)
    if state.get("own_work_dir") and not _mounts_under(work):
        shutil.rmtree(work, ignore_errors=True)


def cleanup_stale() -> list[str]:
    """Tear down sandboxes whose owning process died without cleaning up; returns their names."""
    cleaned = []
    if not _STATE.is_dir():
        return cleaned
    for path in sorted(_STATE.glob(f"{_PREFIX}*.json")):
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        pid, started = state.get("owner_pid"), state.get("owner_start")
        if pid_alive(pid) and _proc_start_time(pid) == started:
            continue
        _teardown_recorded(state)
        path.unlink(missing_ok=True)
        cleaned.append(path.stem)
    return cleaned


# --------------------------------------------------------------------------- main class


_SSHD_CONFIG = """\
Port {port}
ListenAddress {address}
HostKey {host_key}
PidFile {dir}/sshd.pid
AuthorizedKeysFile {pubkey}
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
MaxSessions 100
LogLevel INFO
Subsystem sftp internal-sftp
SetEnv {setenv}
"""


class SshHosts:
    """`with SshHosts(2) as hosts: hosts.group().run("docker info")`.

    isolated=True (needs root): own netns, address, dockerd and sshd per host;
    isolated=False: sshd on 127.0.0.2.. sharing the root engine.
    `registry` (optional): a started Registry to serve from; by default one is
    started.  `.registry_addr` is where *hosts* pull from, `.push_addr` where
    the main engine pushes (same storage).
    """

    def __init__(
        self,
        n: int = 2,
        *,
        isolated: bool = True,
        registry: Registry | None = None,
        work_dir: str | Path | None = None,
        timeout: float = 60,
        own_containerd: bool | None = None,
    ):
        if n < 1:
            raise ValueError("n must be >= 1")
        self.n, self.isolated, self.timeout = n, isolated, timeout
        self.user = pwd.getpwuid(os.geteuid()).pw_name
        self._own_dir = work_dir is None
        self.work_dir: Path | None = Path(work_dir) if work_dir else None
        self._registry_given = registry is not None
        self.registry: Registry | None = registry
        self.registry_addr: str | None = None
        # A system containerd (/run/containerd) would be picked up by every
        # dockerd and run all hosts' containers in the root namespace: then
        # each host gets its own containerd instead.
        self.own_containerd = (
            os.path.exists("/run/containerd/containerd.sock")
            if own_containerd is None
            else own_containerd
        )
        self.hosts: list[SshHost] = []
        self.subnet: int | None = None
        self.netns: list[str] = []
        self.root_link: str | None = None
        self.bridge_addr: str | None = None
        self._state_file: Path | None = None
        self._connections: list = []
        self._started = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------ properties
    @property
    def key_file(self) -> str:
        assert self.work_dir is not None
        return str(self.work_dir / "id_ed25519")

    @property
    def known_hosts(self) -> str:
        """A known_hosts file naming every host with the hosts' (shared) host key, so
        clients can check keys strictly, as against real hosts."""
        assert self.work_dir is not None
        key = (self.work_dir / "ssh_host_ed25519_key.pub").read_text().split()[:2]
        path = self.work_dir / "known_hosts"
        lines = [
            f"{h.address if h.port == 22 else f'[{h.address}]:{h.port}'} {' '.join(key)}"
            for h in self.hosts
        ]
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    @property
    def push_addr(self) -> str:
        assert self.registry is not None
        return self.registry.addr

    # ------------------------------------------------------------ lifecycle
    def start(self) -> SshHosts:
        if self._started:
            return self
        if self.isolated and os.geteuid() != 0:
            raise SandboxError(
                "isolated SSH hosts need root (network namespaces); use isolated=False"
            )
        self._started = True
        atexit.register(self.stop)
        self.hosts, self.netns, self._connections = [], [], []
        self.subnet = self.root_link = self.bridge_addr = self._state_file = None
        try:
            if self.work_dir is None:
                self.work_dir = make_work_dir("ssh")
            self.work_dir.mkdir(parents=True, exist_ok=True)
            self._keys()
            if not self.isolated:
                with file_lock(_STATE / "alloc.lock"):
                    cleanup_stale()
                self._state_file = _STATE / f"{_PREFIX}-lo-{os.getpid()}-{id(self):x}.json"
                self._write_state()
            if self.registry is None:
                self.registry = Registry(work_dir=self.work_dir / "registry").start()
            else:
                self.registry.start()
            if self.isolated:
                self._start_network()
                self.registry_addr = self.registry.add_listener(self.bridge_addr)
            else:
                self.registry_addr = self.registry.addr
                self._root_engine = ensure_engine()
            self._make_hosts()
            self._parallel(self._start_host_processes, self.hosts)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Tear everything down, in reverse order; safe on a half-started sandbox."""
        with self._lock:
            if not self._started:
                return
            self._started = False
        atexit.unregister(self.stop)
        self._close_connections()
        errors: list[str] = []
        self._parallel(
            lambda h: self._stop_host_processes(h, mode="teardown"),
            list(reversed(self.hosts)),
            errors=errors,
        )
        if (
            self.registry is not None
            and self.bridge_addr
            and self.registry_addr != self.registry.addr
        ):
            self.registry.remove_listener(self.registry_addr)
        if not self._registry_given and self.registry is not None:
            self.registry.stop()
            self.registry = None
        if self.work_dir is not None:
            # Anything still alive that belongs to this sandbox (shims, sessions...).
            _kill_host_processes(self.work_dir, self.netns)
            _unmount_under(self.work_dir)
        if self.root_link:
            _ip("link", "del", self.root_link, check=False)  # synchronous: the route goes now
        for ns in reversed(self.netns):
            _ip("netns", "delete", ns, check=False)
        if self._state_file is not None:
            self._state_file.unlink(missing_ok=True)
        for h in self.hosts:
            h.up = False
        if self._own_dir and self.work_dir is not None:
            if _mounts_under(self.work_dir):
                errors.append(f"mounts remain under {self.work_dir}; not deleted")
            else:
                shutil.rmtree(self.work_dir, ignore_errors=True)
                self.work_dir = None
        if errors:
            raise SandboxError("SshHosts teardown: " + "; ".join(errors))

    def __enter__(self) -> SshHosts:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ host up/down
    def stop_host(self, i: int, *, graceful: bool = False, unplug: bool = True) -> None:
        """Take host `i` down mid-rollout.

        Default is a crash: sshd, dockerd, containerd and every container of the
        host are SIGKILLed, and (isolated mode, `unplug`) its link goes down, so
        connections time out / fail with "no route to host" like a dead machine.
        `graceful=True` stops containers and daemons cleanly instead.  In
        loopback mode only sshd is stopped (the engine is shared).
        """
        h = self.hosts[i]
        if h.netns and unplug:
            _ip("-n", h.netns, "link", "set", "eth0", "down", check=False)
        self._stop_host_processes(h, mode="graceful" if graceful else "crash")

    def start_host(self, i: int) -> None:
        """Bring host `i` back (link up, daemons restarted; its images and
        stopped containers persist, restart policies apply)."""
        h = self.hosts[i]
        if h.netns:
            _ip("-n", h.netns, "link", "set", "eth0", "up")
        self._start_host_processes(h)

    # ------------------------------------------------------------ fabric helpers
    def connection(self, host: int | SshHost, **kwargs):
        """A fabric.Connection to a host as `.user` with `.key_file` (closed at teardown)."""
        import fabric

        h = self.hosts[host] if isinstance(host, int) else host
        connect_kwargs = {
            "key_filename": self.key_file,
            "look_for_keys": False,
            "allow_agent": False,
            **kwargs.pop("connect_kwargs", {}),
        }
        # No stdin forwarding by default: tests run without a terminal (pytest
        # capture); pass config= to change it.
        config = kwargs.pop("config", None) or fabric.Config(
            overrides={"run": {"in_stream": False}}
        )
        conn = fabric.Connection(
            h.address,
            user=self.user,
            port=h.port,
            config=config,
            connect_kwargs=connect_kwargs,
            connect_timeout=kwargs.pop("connect_timeout", 10),
            **kwargs,
        )
        self._connections.append(conn)
        return conn

    def group(self, hosts: Iterable[int] | None = None):
        """A fabric.ThreadingGroup over all (or the given) hosts."""
        import fabric

        idx = range(len(self.hosts)) if hosts is None else hosts
        return fabric.ThreadingGroup.from_connections([self.connection(i) for i in idx])

    def _close_connections(self) -> None:
        def refuse(*_a, **_k):
            raise SandboxError(
                "this SSH sandbox was torn down; its addresses must not be contacted"
            )

        for conn in self._connections:
            with contextlib.suppress(Exception):
                conn.close()
            conn.open = refuse  # a later .run() must not reconnect to a dead address
        self._connections.clear()

    # ------------------------------------------------------------ internals
    def _parallel(self, fn, items, errors: list[str] | None = None) -> None:
        failures: list[BaseException] = []

        def call(item):
            try:
                fn(item)
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                failures.append(exc)

        threads = [threading.Thread(target=call, args=(it,)) for it in items]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            if errors is not None:
                errors.extend(str(f) for f in failures)
            else:
                raise failures[0]

    def _keys(self) -> None:
        assert self.work_dir is not None
        for path in (self.work_dir / "id_ed25519", self.work_dir / "ssh_host_ed25519_key"):
            if not path.exists():
                run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)])
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation dir

    def _start_network(self) -> None:
        with file_lock(_STATE / "alloc.lock"):
            cleanup_stale()
            _ensure_guard_route()
            x = next((x for x in range(7, 255) if not _subnet_in_use(x)), None)
            if x is None:
                raise SandboxError("no free 10.213.X.0/24 subnet for SSH hosts")
            self.subnet = x
            sw, self.root_link = f"{_PREFIX}{x}-sw", f"{_PREFIX}{x}-root"
            self.netns = [sw] + [f"{_PREFIX}{x}-h{i}" for i in range(self.n)]
            self._state_file = _STATE / f"{_PREFIX}{x}.json"
            self._write_state()
        self.bridge_addr = f"10.213.{x}.1"
        _ip("netns", "add", sw)
        _ns_sysctl(sw, *_NO_IPV6)  # nothing but IPv4 to our own addresses on this link
        _ip("-n", sw, "link", "set", "lo", "up")
        _ip("-n", sw, "link", "add", "br0", "type", "bridge")
        _ip("-n", sw, "link", "set", "br0", "up")
        _ip("link", "add", self.root_link, "type", "veth", "peer", "name", "root", "netns", sw)
        _ip("-n", sw, "link", "set", "root", "master", "br0", "up")
        with contextlib.suppress(OSError):
            Path(f"/proc/sys/net/ipv6/conf/{self.root_link}/disable_ipv6").write_text("1")
        _ip("addr", "add", f"{self.bridge_addr}/24", "dev", self.root_link)
        _ip("link", "set", self.root_link, "up")
        for i, ns in enumerate(self.netns[1:]):
            _ip("netns", "add", ns)
            _ns_sysctl(ns, *_NO_IPV6)
            _ip(*f"-n {sw} link add h{i} type veth peer name eth0 netns {ns}".split())
            _ip("-n", sw, "link", "set", f"h{i}", "master", "br0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            # Again for the new eth0; but keep ::1 on lo, as on any machine ("localhost").
            _ns_sysctl(ns, *_NO_IPV6, "net.ipv6.conf.lo.disable_ipv6=0")
            _ip("-n", ns, "addr", "add", f"10.213.{x}.{10 + i}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
        _ns_sysctl(sw, *_NO_IPV6)

    def _write_state(self) -> None:
        assert self._state_file is not None
        state = {
            "owner_pid": os.getpid(),
            "owner_start": _proc_start_time(os.getpid()),
            "work_dir": str(self.work_dir),
            "own_work_dir": self._own_dir,
            "netns": self.netns,
            "root_link": self.root_link,
        }
        self._state_file.write_text(json.dumps(state))

    def _make_hosts(self) -> None:
        assert self.work_dir is not None
        for i in range(self.n):
            d = self.work_dir / f"h{i}"
            state = d / "state"
            state.mkdir(parents=True, exist_ok=True)
            if self.isolated:
                address, port, ns = f"10.213.{self.subnet}.{10 + i}", 22, self.netns[1 + i]
                docker_host = f"unix://{d}/docker/run/docker.sock"
            else:
                address = f"127.0.0.{2 + i}"
                port, ns, docker_host = free_port(address), None, self._root_engine
            host = SshHost(f"h{i}", address, port, docker_host, str(state), netns=ns, dir=d)
            self.hosts.append(host)

    def _nsenter(self, h: SshHost) -> list[str]:
        return ["nsenter", f"--net=/var/run/netns/{h.netns}"] if h.netns else []

    def _start_host_processes(self, h: SshHost) -> None:
        if h.netns:
            self._start_dockerd(h)
        self._start_sshd(h)
        h.up = True

    def _start_dockerd(self, h: SshHost) -> None:
        if h.dockerd is not None and h.dockerd.poll() is None:
            return
        d = h.docker_dir
        for sub in ("data", "exec", "run"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        _unmount_under(d)  # leftovers of a crash (stop_host) would stack otherwise
        # After a crash the managed containerd may still be an unreaped zombie;
        # dockerd would take its pidfile for a live containerd and wait forever.
        for pidfile in (d / "exec" / "containerd" / "containerd.pid", d / "dockerd.pid"):
            with contextlib.suppress(OSError, ValueError):
                pid = int(pidfile.read_text().strip() or 0)
                if pid_alive(pid):
                    _kill_all([pid])
                pidfile.unlink()
        (d / "daemon.json").write_text("{}\n")
        argv = [
            *self._nsenter(h),
            _binary("dockerd"),
            *("--config-file", f"{d}/daemon.json", "--data-root", f"{d}/data"),
            *("--exec-root", f"{d}/exec", "--pidfile", f"{d}/dockerd.pid", "-H", h.docker_host),
            *_DOCKERD_FLAGS,
            *("--insecure-registry", str(self.registry_addr)),
            *("--insecure-registry", f"10.213.{self.subnet}.0/24"),
        ]
        if self.own_containerd:
            argv += ["--containerd", self._start_containerd(h)]
        h.dockerd = start_process(argv, d / "dockerd.log")
        wait_until(
            lambda: engine_answers(h.docker_host, timeout=2),
            timeout=self.timeout,
            what=f"dockerd of {h.name}",
            log=d / "dockerd.log",
            proc=h.dockerd,
        )

    def _start_containerd(self, h: SshHost) -> str:
        d = h.docker_dir
        sock = d / "run" / "containerd.sock"
        conf = d / "containerd.toml"
        conf.write_text(
            f'version = 2\nroot = "{d}/containerd/root"\nstate = "{d}/containerd/state"\n'
            f'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "{sock}"\n'
        )
        if h.containerd is None or h.containerd.poll() is not None:
            argv = [*self._nsenter(h), _binary("containerd"), "--config", str(conf)]
            h.containerd = start_process(argv, d / "containerd.log")
            wait_until(
                sock.exists,
                timeout=self.timeout,
                what=f"containerd of {h.name}",
                log=d / "containerd.log",
                proc=h.containerd,
            )
        return str(sock)

    def _start_sshd(self, h: SshHost) -> None:
        if h.sshd is not None and h.sshd.poll() is None:
            return
        assert self.work_dir is not None
        conf = h.dir / "sshd_config"
        conf.write_text(
            _SSHD_CONFIG.format(
                port=h.port,
                address=h.address,
                host_key=self.work_dir / "ssh_host_ed25519_key",
                dir=h.dir,
                pubkey=self.work_dir / "id_ed25519.pub",
                setenv=" ".join(f"{k}={v}" for k, v in self._session_env(h).items()),
            )
        )
        run([_binary("sshd"), "-t", "-f", str(conf)])  # config errors, quoted, before starting
        argv = [*self._nsenter(h), _binary("sshd"), "-D", "-e", "-f", str(conf)]
        h.sshd = start_process(argv, h.dir / "sshd.log")

        def banner() -> bool:
            with socket.create_connection((h.address, h.port), timeout=1) as s:
                return s.recv(16).startswith(b"SSH-")

        wait_until(
            banner,
            timeout=self.timeout,
            what=f"sshd of {h.name} on {h.address}:{h.port}",
            log=h.dir / "sshd.log",
            proc=h.sshd,
        )

    @staticmethod
    def _session_env(h: SshHost) -> dict[str, str]:
        """What every SSH session on `h` gets (one SetEnv line: sshd uses only the first)."""
        return {
            "DOCKER_HOST": h.docker_host,
            "SHIPWRIGHT_HOST_ROOT": h.state_dir,
            "SHIPWRIGHT_HOST_NAME": h.name,
            "SHIPWRIGHT_HOST_ADDRESS": h.address,
        }

    def _stop_host_processes(self, h: SshHost, *, mode: str) -> None:
        """mode: "crash" (SIGKILL everything), "graceful" (stop containers, then
        daemons), "teardown" (remove containers, then daemons)."""
        h.up = False
        if mode == "crash":
            pids = [
                p.pid
                for p in (h.sshd, h.dockerd, h.containerd)
                if p is not None and p.poll() is None
            ]
            if h.netns:
                pids += _pids_referencing(f"{h.docker_dir}/") + _netns_pids(h.netns)
            elif h.sshd is not None:
                pids += descendants(h.sshd.pid)  # sessions of this host only
            _kill_all(set(pids) - {os.getpid()})
        if h.sshd is not None:
            stop_process(h.sshd, timeout=5)  # its sessions are descendants: stopped too
            h.sshd = None
        if h.netns:
            if mode != "crash" and h.dockerd is not None and h.dockerd.poll() is None:
                self._settle_containers(h, remove=mode == "teardown")
            if h.dockerd is not None:
                stop_process(h.dockerd, timeout=20)
                h.dockerd = None
            if h.containerd is not None:
                stop_process(h.containerd, timeout=10)
                h.containerd = None
            leftovers = _pids_referencing(f"{h.docker_dir}/") + _netns_pids(h.netns)
            if leftovers:
                _kill_all(leftovers)
            _unmount_under(h.docker_dir)

    @staticmethod
    def _settle_containers(h: SshHost, *, remove: bool) -> None:
        """Stop (2 s grace) or remove this host's containers before dockerd stops:
        dockerd itself would give each container 10 s."""
        import docker

        try:
            client = docker.DockerClient(base_url=h.docker_host, timeout=15)
        except Exception:  # noqa: BLE001 - the kill that follows is the fallback
            return
        try:
            for c in client.containers.list(all=remove):
                with contextlib.suppress(Exception):
                    c.remove(force=True) if remove else c.stop(timeout=2)
        except Exception:  # noqa: BLE001
            pass
        finally:
            client.close()
