"""Shell commands for one Compose host, as pure functions returning strings.

Why (Kamal's ``commands/`` split): building a command is separate from running it, so
``--dry-run`` and plans are free, and every command is unit-testable without a host.
No function here ever receives a secret: the app's environment travels as a 0600
file (Runner.put_secret_file) and commands only name that file's path.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from shipwright.domain import Release
from shipwright.image.reference import ImageRef

SLOTS = ("blue", "green")
DEFAULT_ROOT = "/var/lib/shipwright"
#: The host's state directory when none is configured: $SHIPWRIGHT_HOST_ROOT there.
ROOT_EXPR = f"${{SHIPWRIGHT_HOST_ROOT:-{DEFAULT_ROOT}}}"
LABEL = "io.shipwright"
q = shlex.quote


@dataclass(frozen=True)
class Layout:
    """Where things live on a host, under its state directory ``root``."""

    root: str
    app: str

    @property
    def base(self) -> str:
        return f"{self.root}/{self.app}"

    @property
    def nginx(self) -> str:
        return f"{self.base}/nginx"

    @property
    def nginx_conf(self) -> str:
        return f"{self.nginx}/nginx.conf"

    @property
    def upstream(self) -> str:
        return f"{self.nginx}/upstream.conf"

    @property
    def active(self) -> str:
        return f"{self.base}/active-slot"

    @property
    def warm(self) -> str:
        """``<slot> <epoch>``: the colour that left traffic stays warm until then."""
        return f"{self.base}/warm-slot"

    def env_file(self, slot: str) -> str:
        return f"{self.base}/env/{slot}.env"

    def container(self, slot: str) -> str:
        return f"{self.app}-{slot}"

    def lock(self, environment: str) -> str:
        return f"{self.base}/locks/{environment}.lock"

    def ledger(self, environment: str) -> str:
        return f"{self.base}/ledger/{environment}.jsonl"


def path(text: str) -> str:
    """Quote a path but let a leading ``${SHIPWRIGHT_HOST_ROOT:-…}`` expand."""
    if text.startswith(ROOT_EXPR):
        return f'"{ROOT_EXPR}"' + (q(text[len(ROOT_EXPR) :]) if len(text) > len(ROOT_EXPR) else "")
    return q(text)


def other_slot(slot: str | None) -> str:
    """The idle slot: the one not serving (blue when nothing serves yet)."""
    return SLOTS[1] if slot == SLOTS[0] else SLOTS[0]


def slot_port(slot: str, base_port: int) -> int:
    return base_port + SLOTS.index(slot)


def by_digest(image: str) -> str:
    """``repo:tag@sha256:…`` -> ``repo@sha256:…``; hosts pull by digest only."""
    return ImageRef.parse(image).require_digest("hosts deploy by digest only").by_digest()


def pull_reference(image: str, registry: str | None = None) -> str:
    """What a host pulls and runs: by digest, from ``registry`` when the hosts reach the
    registry under another address than the pusher (a mirror, a private network)."""
    ref = ImageRef.parse(image).require_digest("hosts deploy by digest only")
    return ref.on_registry(registry).by_digest()


def repository_of(image: str, registry: str | None = None) -> str:
    return ImageRef.parse(image).on_registry(registry).repository


# -- facts (read-only) ------------------------------------------------------------------
#: Marks in a script's output: where the next part of the answer starts.
MARK = "@@"


def resolve_root() -> str:
    return f'printf "%s\\n" "{ROOT_EXPR}"'


def read_state(layout: Layout) -> str:
    """One line each: ``root=``, ``active=<slot>``, ``warm=<slot> <epoch>``, ``now=``,
    ``<slot>|<status>|<health>|<release json>`` per slot, and ``nginx=``."""
    fmt = (
        "{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}|"
        f'{{{{index .Config.Labels "{LABEL}.release"}}}}'
    )
    lines = [
        f"printf 'root=%s\\n' \"{ROOT_EXPR}\"",
        f"printf 'active=%s\\n' \"$(cat {path(layout.active)} 2>/dev/null)\"",
        f"printf 'warm=%s\\n' \"$(cat {path(layout.warm)} 2>/dev/null)\"",
        "printf 'now=%s\\n' \"$(date +%s)\"",
    ]
    for slot in SLOTS:
        name = q(layout.container(slot))
        lines.append(
            f"printf '%s|' {slot}; "
            f"docker inspect -f {q(fmt)} {name} 2>/dev/null || echo 'missing|none|'"
        )
    pid = path(f"{layout.nginx}/nginx.pid")
    lines.append(
        f'if [ -f {pid} ] && kill -0 "$(cat {pid})" 2>/dev/null; '
        "then echo nginx=running; else echo nginx=stopped; fi"
    )
    return "; ".join(lines)


def verify(layout: Layout, port: int, paths: list[str], bind: str = "") -> str:
    """The host's state, a mark, then the health paths through its nginx (the script's
    exit code is the health check's)."""
    return f"{read_state(layout)}; echo {MARK}; ( {health(port, paths, bind or '127.0.0.1')} )"


# -- setup ------------------------------------------------------------------------------
def prepare(layout: Layout) -> str:
    dirs = [f"{layout.base}/env", f"{layout.nginx}/logs", f"{layout.nginx}/tmp"]
    dirs += [f"{layout.base}/locks", f"{layout.base}/ledger"]
    return f"mkdir -p {' '.join(path(d) for d in dirs)} && chmod 700 {path(layout.base + '/env')}"


def write_file(target: str, content: str) -> str:
    """Atomically replace a (non-secret) file: write a temp file beside it, then mv."""
    tmp = f"{target}.tmp"
    return f"printf %s {q(content)} > {path(tmp)} && mv -f {path(tmp)} {path(target)}"


# -- image and container ---------------------------------------------------------------
def login(registry: str, user: str, password_file: str) -> str:
    """Log in with the password from a 0600 file (then delete it): never on the line."""
    pw = path(password_file)
    return (
        f"docker login --username {q(user)} --password-stdin {q(registry)} < {pw}; "
        f"rc=$?; rm -f {pw}; exit $rc"
    )


def pull(image: str, registry: str | None = None) -> str:
    return f"docker pull {q(pull_reference(image, registry))}"


def labels(release: Release, slot: str) -> dict[str, str]:
    record = {k: v for k, v in release.to_dict().items()}
    return {
        f"{LABEL}.version": release.version,
        f"{LABEL}.slot": slot,
        f"{LABEL}.release": json.dumps(record, sort_keys=True, separators=(",", ":")),
    }


def run_container(
    layout: Layout, release: Release, slot: str, stop_timeout: int, registry: str | None = None
) -> str:
    """Start ``slot`` beside the serving one: host network, 0600 env file, labels."""
    name = q(layout.container(slot))
    parts = [
        "docker run -d",
        f"--name {name}",
        "--network host",
        f"--env-file {path(layout.env_file(slot))}",
        "--restart unless-stopped",
        f"--stop-timeout {int(stop_timeout)}",
        "--log-opt max-size=10m --log-opt max-file=3",
    ]
    parts += [f"--label {q(f'{k}={v}')}" for k, v in labels(release, slot).items()]
    parts.append(q(pull_reference(release.image, registry)))
    return f"docker rm -f {name} >/dev/null 2>&1; " + " ".join(parts)


def run_once(layout: Layout, image: str, command: list[str], registry: str | None = None) -> str:
    """A one-off container of ``image`` (host network, the app's 0600 env file, removed
    afterwards); the env file goes too, and the command's exit code is the shell's."""
    env = path(layout.env_file("run"))
    argv = " ".join(q(part) for part in command)
    return (
        f"docker run --rm --network host --env-file {env} "
        f"--label {q(f'{LABEL}.run=1')} {q(pull_reference(image, registry))} {argv}; "
        f"rc=$?; rm -f {env}; exit $rc"
    )


def http_ok(url: str, timeout: float = 2) -> str:
    """A GET that succeeds on 2xx: curl where the host has it, else wget (busybox or GNU)."""
    u = q(url)
    curl = f"curl -fsS -o /dev/null --max-time {timeout:g} {u}"
    wget = f"wget -q -O /dev/null -T {int(max(1, timeout))} {u}"
    return f"{{ if command -v curl >/dev/null; then {curl}; else {wget}; fi; }} 2>/dev/null"


#: "true 0" while the container runs and has not been restarted (a crash loop fails fast).
RUNNING_FMT = "{{.State.Running}} {{.RestartCount}}"


def wait_ready(
    layout: Layout, slot: str, url: str, timeout: float, interval: float = 0.1, every: int = 5
) -> str:
    """Poll ``url`` until it answers 2xx; fail soon after the container stops (checked
    every ``every`` tries: ``docker inspect`` costs more than the probe)."""
    name = q(layout.container(slot))
    tries = max(1, int(timeout / interval))
    return (
        f"i=0; while [ $i -lt {tries} ]; do "
        f"if {http_ok(url)}; then exit 0; fi; "
        f"[ $((i % {every})) -ne 0 ] || "
        f"[ \"$(docker inspect -f {q(RUNNING_FMT)} {name} 2>/dev/null)\" = 'true 0' ] || "
        f"{{ echo 'container {layout.container(slot)} stopped or restarting'; "
        f"docker logs --tail 30 {name} 2>&1; exit 3; }}; "
        f"sleep {interval:g}; i=$((i+1)); done; "
        f"echo 'not ready after {timeout:g}s: {url}'; docker logs --tail 30 {name} 2>&1; exit 2"
    )


def start_container(layout: Layout, slot: str) -> str:
    """Start the slot's existing (stopped) container again: its image, labels and env
    file are the ones it was created with."""
    return f"docker start {q(layout.container(slot))} >/dev/null"


def stop_container(layout: Layout, slot: str, timeout: int) -> str:
    """SIGTERM, then up to ``timeout`` seconds for the app to drain in-flight requests;
    the container stays (a later rollback starts it again)."""
    name = q(layout.container(slot))
    return f"docker stop -t {int(timeout)} {name} >/dev/null 2>&1 || true"


def remove_container(layout: Layout, slot: str, timeout: int) -> str:
    name = q(layout.container(slot))
    stop = f"docker stop -t {int(timeout)} {name} >/dev/null 2>&1"
    return f"{stop}; docker rm -f {name} >/dev/null 2>&1 || true"


def health(port: int, paths: list[str], address: str = "127.0.0.1") -> str:
    """Every health path through the host's nginx, naming the first that fails."""
    checks = [
        f"{http_ok(f'http://{address}:{port}{p}', 3)} || {{ echo 'failed: {p}'; exit 1; }}"
        for p in paths
    ]
    return "; ".join(checks) or "true"


def logs(
    layout: Layout, slot: str, follow: bool = False, since: str | None = None, tail: int = 200
) -> str:
    parts = ["docker logs", f"--tail {int(tail)}"]
    if follow:
        parts.append("--follow")
    if since:
        parts.append(f"--since {q(since)}")
    return " ".join([*parts, q(layout.container(slot))])


# -- images ----------------------------------------------------------------------------
def list_images(repository: str) -> str:
    """``repo@digest id tag`` per local image of ``repository``."""
    fmt = "{{.Repository}}@{{.Digest}} {{.ID}} {{.Tag}}"
    return f"docker images --digests --format {q(fmt)} {q(repository)}"


def remove_images(repositories: list[str], keep: list[str]) -> str:
    """Remove the images of ``repositories`` that no reference in ``keep`` names (under
    any of their names); prints ``removed N``. Hosts pull by digest, so their images
    carry no tag: a tagged image was put there by someone else and stays. An image a
    container (even a stopped one) still uses is refused by docker and stays too."""
    wanted = q(" " + " ".join(keep) + " ")
    lists = "; ".join(list_images(r) for r in repositories) or "true"
    return (
        f"all=$( {{ {lists}; }} ); "
        'kept=" $(printf \'%s\\n\' "$all" | while read -r ref id tag; do '
        f'case {wanted} in *" $ref "*) printf \'%s \' "$id";; esac; done)"; '
        "ids=$(printf '%s\\n' \"$all\" | while read -r ref id tag; do "
        '[ -n "$id" ] && [ "$tag" = "<none>" ] || continue; '
        'case "$kept" in *" $id "*) continue;; esac; echo "$id"; done | sort -u); '
        '[ -z "$ids" ] || docker rmi $ids >/dev/null 2>&1 || true; '
        'echo "removed $(echo $ids | wc -w)"'
    )


# -- lock and ledger ---------------------------------------------------------------------
def lock_create(lock_path: str, info_json: str) -> str:
    """Atomic create (noclobber = O_EXCL): prints ``acquired``, or ``held`` and the holder."""
    lp = path(lock_path)
    folder = path(lock_path.rsplit("/", 1)[0])
    return (
        f"mkdir -p {folder} && if ( set -C; printf '%s\\n' {q(info_json)} > {lp} ) 2>/dev/null; "
        f"then echo acquired; else echo held; cat {lp} 2>/dev/null; fi"
    )


def read_file(file_path: str) -> str:
    return f"cat {path(file_path)} 2>/dev/null || true"


def lock_delete(lock_path: str, token: str | None = None) -> str:
    lp = path(lock_path)
    if token is None:
        return f"rm -f {lp}"
    return f"if grep -qF {q(token)} {lp} 2>/dev/null; then rm -f {lp}; fi"


def ledger_append(ledger_path: str, *entries_json: str) -> str:
    """Append one JSON line per entry (one write: a short append is not interleaved)."""
    folder = path(ledger_path.rsplit("/", 1)[0])
    lines = " ".join(q(e) for e in entries_json)
    return f"mkdir -p {folder} && printf '%s\\n' {lines} >> {path(ledger_path)}"
