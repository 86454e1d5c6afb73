"""Local base images, built from the host's own files with `docker import`.

Why: a machine that may not pull from a public registry (CI here, an air-gapped
laptop) has no `node:18-alpine`.  The host has Node, npm, busybox-static and dumb-init; a
root filesystem made of those (plus the libraries `ldd` lists, passwd/group
and the machine's CA bundle -- TLS to the package registries is re-signed and
npm fails with SELF_SIGNED_CERT_IN_CHAIN without it) is a working Node base.
The real default stays a build argument of the project's Dockerfiles; the local
default and the tests pass this tag instead.  `ensure_busybox_image()` is a tiny (~2 MB) image for
tests that only need a shell or `httpd`; `ensure_redis_image()` a Redis for the
local Compose stack.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from shipwright.image.engine import image_exists
from shipwright.image.reference import ImageRef
from shipwright.machine.process import MachineError, run

__all__ = [
    "ensure_node_base",
    "ensure_busybox_image",
    "ensure_redis_image",
    "NODE_BASE_TAG",
    "BUSYBOX_TAG",
    "REDIS_TAG",
]

NODE_BASE_TAG = "shipwright/node-base:18"
BUSYBOX_TAG = "shipwright/busybox:local"
REDIS_TAG = "shipwright/redis:7-local"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
ENV_CHANGES = ["ENV PATH=/usr/local/bin:/usr/bin:/bin"]
RECIPE_LABEL = "org.shipwright.recipe"

# Like node:18-alpine: root, a `node` user (1000:1000) and nobody/nogroup.
_PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "node:x:1000:1000::/home/node:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
)
_GROUP = "root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n"
_SHADOW = "root:*:19000:0:99999:7:::\nnode:!:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n"

# Debian's busybox-static has no adduser/addgroup applets; Dockerfiles written
# for Alpine use them (`addgroup -S app && adduser -S app -G app`), so the image
# carries small sh versions with busybox's options and defaults.
_ADDGROUP = r"""#!/bin/sh
# addgroup [-g GID] [-S] GROUP  |  addgroup USER GROUP  (busybox-compatible subset)
die() { echo "addgroup: $*" >&2; exit 1; }
free_id() {  # free_id FILE LOW HIGH: first id in [LOW, HIGH] not used in FILE
  awk -F: -v lo="$2" -v hi="$3" '{u[$3]=1}
    END {for (i = lo; i <= hi; i++) if (!(i in u)) {print i; exit}}' "$1"
}
gid= system=
args=$(getopt -n addgroup -o g:S -- "$@") || die "usage: addgroup [-g GID] [-S] [USER] GROUP"
eval set -- "$args"
while :; do
  case $1 in -g) gid=$2; shift 2;; -S) system=1; shift;; --) shift; break;; esac
done
if [ $# -eq 2 ]; then
  grep -q "^$1:" /etc/passwd || die "unknown user '$1'"
  grep -q "^$2:" /etc/group || die "unknown group '$2'"
  awk -F: -v OFS=: -v u="$1" -v g="$2" '
    $1 == g { n = split($4, m, ","); f = 0; for (i = 1; i <= n; i++) if (m[i] == u) f = 1
              if (!f) $4 = ($4 == "" ? u : $4 "," u) }
    { print }' /etc/group > /etc/group.new
  cat /etc/group.new > /etc/group && rm -f /etc/group.new
  exit 0
fi
[ $# -eq 1 ] || die "usage: addgroup [-g GID] [-S] [USER] GROUP"
grep -q "^$1:" /etc/group && die "group '$1' in use"
if [ -z "$gid" ]; then
  if [ -n "$system" ]; then gid=$(free_id /etc/group 100 999)
  else gid=$(free_id /etc/group 1000 60000); fi
fi
awk -F: -v g="$gid" '$3 == g {exit 1}' /etc/group || die "gid '$gid' in use"
echo "$1:x:$gid:" >> /etc/group
"""

_ADDUSER = r"""#!/bin/sh
# adduser [-h DIR] [-g GECOS] [-s SHELL] [-G GRP] [-S] [-D] [-H] [-u UID] [-k SKEL] USER [GROUP]
die() { echo "adduser: $*" >&2; exit 1; }
free_id() {  # free_id FILE LOW HIGH: first id in [LOW, HIGH] not used in FILE
  awk -F: -v lo="$2" -v hi="$3" '{u[$3]=1}
    END {for (i = lo; i <= hi; i++) if (!(i in u)) {print i; exit}}' "$1"
}
usage="usage: adduser [-h DIR] [-g GECOS] [-s SHELL] [-G GRP] [-S] [-D] [-H] [-u UID] USER"
home= gecos= shell= group= system= nohome= uid=
args=$(getopt -n adduser -o h:g:s:G:SDHu:k: -- "$@") || die "$usage"
eval set -- "$args"
while :; do
  case $1 in
    -h) home=$2; shift 2;; -g) gecos=$2; shift 2;; -s) shell=$2; shift 2;;
    -G) group=$2; shift 2;; -u) uid=$2; shift 2;; -k) shift 2;;
    -S) system=1; shift;; -D) shift;; -H) nohome=1; shift;;
    --) shift; break;;
  esac
done
[ -n "$1" ] || die "$usage"
if [ -n "$2" ]; then exec addgroup "$1" "$2"; fi
user=$1
grep -q "^$user:" /etc/passwd && die "user '$user' in use"
if [ -z "$uid" ]; then
  if [ -n "$system" ]; then uid=$(free_id /etc/passwd 100 999)
  else uid=$(free_id /etc/passwd 1000 60000); fi
fi
awk -F: -v x="$uid" '$3 == x {exit 1}' /etc/passwd || die "uid '$uid' in use"
if [ -z "$group" ] && [ -n "$system" ]; then
  group=nogroup
elif [ -z "$group" ]; then  # a group named like the user, gid = uid when free
  if ! grep -q "^$user:" /etc/group; then
    if awk -F: -v x="$uid" '$3 == x {exit 1}' /etc/group; then addgroup -g "$uid" "$user"
    else addgroup "$user"; fi || exit 1
  fi
  group=$user
fi
gid=$(awk -F: -v g="$group" '$1 == g {print $3}' /etc/group)
[ -n "$gid" ] || die "unknown group '$group'"
[ -n "$home" ] || home=/home/$user
if [ -z "$shell" ]; then
  if [ -n "$system" ]; then shell=/sbin/nologin; else shell=/bin/sh; fi
fi
echo "$user:x:$uid:$gid:$gecos:$home:$shell" >> /etc/passwd
echo "$user:!:19000:0:99999:7:::" >> /etc/shadow
if [ -z "$nohome" ] && [ ! -e "$home" ]; then
  mkdir -p "$home" && chown "$uid:$gid" "$home" && chmod 755 "$home"
fi
"""


class _RootFs:
    """Builds a tar of a root filesystem, copying host paths faithfully."""

    def __init__(self, tar: tarfile.TarFile):
        self.tar = tar
        self.seen: set[str] = set()

    def _info(self, name: str, type_: bytes, mode: int) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name.lstrip("/"))
        ti.type, ti.mode, ti.uid, ti.gid = type_, mode, 0, 0
        ti.uname = ti.gname = "root"
        ti.mtime = int(time.time())
        return ti

    def dir(self, path: str, mode: int = 0o755, owner: int = 0) -> None:
        path = path.rstrip("/") or "/"
        if path == "/" or path in self.seen:
            return
        self.dir(os.path.dirname(path))
        self.seen.add(path)
        ti = self._info(path, tarfile.DIRTYPE, mode)
        ti.uid = ti.gid = owner
        self.tar.addfile(ti)

    def symlink(self, path: str, target: str) -> None:
        if path in self.seen:
            return
        self.dir(os.path.dirname(path))
        self.seen.add(path)
        ti = self._info(path, tarfile.SYMTYPE, 0o777)
        ti.linkname = target
        self.tar.addfile(ti)

    def data(self, path: str, content: bytes | str, mode: int = 0o644) -> None:
        if path in self.seen:
            return
        self.dir(os.path.dirname(path))
        self.seen.add(path)
        raw = content.encode() if isinstance(content, str) else content
        ti = self._info(path, tarfile.REGTYPE, mode)
        ti.size = len(raw)
        self.tar.addfile(ti, io.BytesIO(raw))

    def file(self, path: str, source: str | None = None) -> None:
        """Copy a host regular file (following symlinks) to `path`."""
        if path in self.seen:
            return
        src = source or path
        st = os.stat(src)
        self.dir(os.path.dirname(path))
        self.seen.add(path)
        ti = self._info(path, tarfile.REGTYPE, stat.S_IMODE(st.st_mode))
        ti.size = st.st_size
        with open(src, "rb") as fh:
            self.tar.addfile(ti, fh)

    def host_path(self, path: str) -> None:
        """Copy host `path` keeping every symlink on the way (e.g. /lib64 -> usr/lib64)."""
        parts = Path(path).parts[1:]
        cur = "/"
        for i, part in enumerate(parts):
            cur = os.path.join(cur, part)
            if os.path.islink(cur):
                target = os.readlink(cur)
                self.symlink(cur, target)
                resolved = os.path.normpath(os.path.join(os.path.dirname(cur), target))
                rest = os.path.join(resolved, *parts[i + 1 :]) if parts[i + 1 :] else resolved
                self.host_path(rest)
                return
            if i < len(parts) - 1:
                self.dir(cur, stat.S_IMODE(os.stat(cur).st_mode))
        if os.path.isdir(cur):
            self.dir(cur, stat.S_IMODE(os.stat(cur).st_mode))
        else:
            self.file(cur)

    def tree(self, top: str) -> None:
        """Copy a host directory tree (symlinks kept as symlinks)."""
        self.host_path(top)
        for root, dirs, files in os.walk(top):
            for name in sorted(dirs + files):
                p = os.path.join(root, name)
                if os.path.islink(p):
                    self.symlink(p, os.readlink(p))
                elif os.path.isdir(p):
                    self.dir(p, stat.S_IMODE(os.stat(p).st_mode))
                elif os.path.isfile(p):
                    self.file(p)


def _which(name: str) -> str:
    path = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
    if not path:
        raise MachineError(f"{name}: not found on the host (run .ci/setup)")
    return path


def _ldd(binary: str) -> list[str]:
    """Absolute library paths (incl. the loader) `ldd` lists for `binary`."""
    out = run(["ldd", binary]).stdout
    libs = []
    for line in out.splitlines():
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            libs.append(m.group(1))
    return libs


def _add_busybox(fs: _RootFs) -> None:
    busybox = os.path.realpath(_which("busybox"))
    if _ldd_dynamic(busybox):  # the image has no libraries for it
        raise MachineError(f"{busybox} is not static: install busybox-static")
    fs.file("/bin/busybox", busybox)
    applets = run([busybox, "--list"]).stdout.split()
    for applet in applets:
        if applet != "busybox" and re.fullmatch(r"[\w.+\[\]-]+", applet):
            fs.symlink(f"/bin/{applet}", "busybox")
    fs.symlink("/usr/bin/env", "/bin/busybox")
    fs.symlink("/sbin/nologin", "/bin/busybox")
    for name, script in (("adduser", _ADDUSER), ("addgroup", _ADDGROUP)):
        if f"/bin/{name}" not in fs.seen:  # a busybox that has the applet wins
            fs.data(f"/bin/{name}", script, 0o755)


def _ldd_dynamic(binary: str) -> bool:
    cp = subprocess.run(["ldd", binary], capture_output=True, text=True)
    return cp.returncode == 0 and "not a dynamic" not in cp.stdout + cp.stderr


def _add_etc(fs: _RootFs, *, ca_bundle: bool) -> None:
    fs.data("/etc/passwd", _PASSWD)
    fs.data("/etc/group", _GROUP)
    fs.data("/etc/shadow", _SHADOW, 0o640)
    fs.data("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n")
    if ca_bundle:
        if not os.path.exists(CA_BUNDLE):
            raise MachineError(f"{CA_BUNDLE} missing on the host (apt-get install ca-certificates)")
        fs.file(CA_BUNDLE, os.path.realpath(CA_BUNDLE))
    fs.dir("/tmp", 0o1777)
    fs.dir("/var/tmp", 0o1777)
    fs.dir("/root", 0o700)
    fs.dir("/home")
    fs.dir("/home/node", owner=1000)
    for d in ("/proc", "/sys", "/dev", "/usr/local/bin"):
        fs.dir(d)


def _import(client, build, tag: str, changes: list[str]) -> None:
    ref = ImageRef.parse(tag)
    try:
        previous = client.images.get(tag).id
    except Exception:  # noqa: BLE001 - ImageNotFound: nothing to replace
        previous = None
    with tempfile.TemporaryDirectory(prefix="sw-rootfs-") as tmp:
        tar_path = os.path.join(tmp, "rootfs.tar")
        with tarfile.open(tar_path, "w", format=tarfile.GNU_FORMAT) as tar:
            build(_RootFs(tar))
        client.api.import_image_from_file(
            tar_path, repository=ref.repository, tag=ref.tag or "latest", changes=changes
        )
    if not image_exists(client, tag):
        raise MachineError(f"docker import of {tag} did not produce the image")
    if previous and previous != client.images.get(tag).id:
        with contextlib.suppress(Exception):  # still used by a container: keep it
            client.images.remove(previous)


def _run_in(client, tag: str, cmd: list[str]) -> str:
    try:
        out = client.containers.run(tag, cmd, network_mode="host", remove=True, stderr=True)
    except Exception as exc:  # ContainerError carries the container's stderr
        raise MachineError(f"{tag}: {' '.join(cmd)} failed: {exc}") from exc
    return out.decode().strip()


def _recipe(*inputs: str) -> str:
    """Fingerprint of this module's code and the host files an image is made of."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in inputs:
        st = os.stat(path)
        digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _up_to_date(client, tag: str, recipe: str) -> bool:
    """True if `tag` exists and was built from the same recipe (else it is rebuilt)."""
    import docker.errors

    try:
        labels = client.images.get(tag).attrs.get("Config", {}).get("Labels") or {}
    except docker.errors.ImageNotFound:
        return False
    return labels.get(RECIPE_LABEL) == recipe


def ensure_node_base(client, tag: str = NODE_BASE_TAG, *, verify: bool = True) -> str:
    """Build (unless `tag` is current) a Node base image from the host; returns `tag`.

    `client` is a `docker.DockerClient`.  The image has node, npm/npx,
    busybox applets (/bin/sh, adduser, ...), dumb-init, root and node users,
    the CA bundle, PATH=/usr/local/bin:/usr/bin:/bin and NODE_EXTRA_CA_CERTS.
    An existing tag is reused unless this module or the host's node, npm,
    busybox, dumb-init or CA bundle changed since it was built.
    """
    node, dumb_init = _which("node"), _which("dumb-init")
    modules = "/usr/lib/node_modules"
    npm_cli = f"{modules}/npm/bin/npm-cli.js"
    if not os.path.isfile(npm_cli):
        raise MachineError(f"{modules}/npm missing on the host (install nodejs/npm)")
    recipe = _recipe(
        os.path.realpath(node),
        os.path.realpath(dumb_init),
        os.path.realpath(_which("busybox")),
        f"{modules}/npm/package.json",
        os.path.realpath(CA_BUNDLE),
    )
    if _up_to_date(client, tag, recipe):
        return tag

    def build(fs: _RootFs) -> None:
        _add_busybox(fs)
        fs.file("/usr/bin/node", os.path.realpath(node))
        fs.file("/usr/bin/dumb-init", os.path.realpath(dumb_init))
        for lib in sorted(set(_ldd(node) + _ldd(dumb_init))):
            fs.host_path(lib)
        fs.tree(modules)
        fs.symlink("/usr/bin/npm", "../lib/node_modules/npm/bin/npm-cli.js")
        fs.symlink("/usr/bin/npx", "../lib/node_modules/npm/bin/npx-cli.js")
        _add_etc(fs, ca_bundle=True)

    changes = [
        *ENV_CHANGES,
        f"ENV NODE_EXTRA_CA_CERTS={CA_BUNDLE}",
        f"LABEL {RECIPE_LABEL}={recipe}",
    ]
    _import(client, build, tag, changes)
    if verify:
        try:
            if _run_in(client, tag, ["node", "-e", "console.log(1)"]) != "1":
                raise MachineError(f"{tag}: node did not print 1")
            if not re.match(r"^\d+\.\d+", _run_in(client, tag, ["npm", "--version"])):
                raise MachineError(f"{tag}: npm --version printed no version")
        except BaseException:
            client.images.remove(tag, force=True)
            raise
    return tag


def ensure_busybox_image(client, tag: str = BUSYBOX_TAG) -> str:
    """A ~2 MB busybox-static image (sh, httpd, nc, wget, ...); returns `tag`."""
    recipe = _recipe(os.path.realpath(_which("busybox")))
    if _up_to_date(client, tag, recipe):
        return tag

    def build(fs: _RootFs) -> None:
        _add_busybox(fs)
        _add_etc(fs, ca_bundle=False)

    _import(client, build, tag, [*ENV_CHANGES, f"LABEL {RECIPE_LABEL}={recipe}"])
    return tag


def ensure_redis_image(client, tag: str = REDIS_TAG) -> str:
    """redis-server and redis-cli from the host in a busybox root filesystem (a Compose
    stack's redis command and healthcheck need just these); returns `tag`."""
    server, cli = (os.path.realpath(_which(name)) for name in ("redis-server", "redis-cli"))
    recipe = _recipe(server, cli, os.path.realpath(_which("busybox")))
    if _up_to_date(client, tag, recipe):
        return tag

    def build(fs: _RootFs) -> None:
        _add_busybox(fs)
        for name, binary in (("redis-server", server), ("redis-cli", cli)):
            fs.file(f"/usr/bin/{name}", binary)
            for lib in _ldd(binary):
                fs.host_path(lib)
        fs.dir("/data", 0o777)
        _add_etc(fs, ca_bundle=False)

    changes = [*ENV_CHANGES, "WORKDIR /data", 'CMD ["redis-server"]']
    _import(client, build, tag, [*changes, f"LABEL {RECIPE_LABEL}={recipe}"])
    try:
        version = _run_in(client, tag, ["redis-server", "--version"])
        if "Redis server" not in version:
            raise MachineError(f"{tag}: redis-server --version printed {version!r}")
    except BaseException:
        client.images.remove(tag, force=True)
        raise
    return tag
