"""Local base images, built from the host's own files with `docker import`.

Why: no public registry can be pulled from here, so `node:18-alpine` is not
available to tests.  The host has Node, npm, busybox-static and dumb-init; a
root filesystem made of those (plus the libraries `ldd` lists, passwd/group
and the machine's CA bundle -- TLS to the package registries is re-signed and
npm fails with SELF_SIGNED_CERT_IN_CHAIN without it) is a working Node base.
The real default stays a build argument of the project's Dockerfiles; tests
pass this tag instead.  `ensure_busybox_image()` is a tiny (~2 MB) image for
tests that only need a shell or `httpd`.
"""

from __future__ import annotations

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

from ._proc import SandboxError, run

__all__ = ["ensure_node_base", "ensure_busybox_image", "NODE_BASE_TAG", "BUSYBOX_TAG"]

NODE_BASE_TAG = "shipwright/node-base:18"
BUSYBOX_TAG = "shipwright/busybox:sandbox"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
ENV_CHANGES = ["ENV PATH=/usr/local/bin:/usr/bin:/bin"]

_PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
_GROUP = "root:x:0:\nnogroup:x:65534:\n"
_SHADOW = "root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n"


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

    def dir(self, path: str, mode: int = 0o755) -> None:
        path = path.rstrip("/") or "/"
        if path == "/" or path in self.seen:
            return
        self.dir(os.path.dirname(path))
        self.seen.add(path)
        self.tar.addfile(self._info(path, tarfile.DIRTYPE, mode))

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
                rest = os.path.join(resolved, *parts[i + 1:]) if parts[i + 1:] else resolved
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
        raise SandboxError(f"{name}: not found on the host (run .ci/setup)")
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
    if "statically linked" not in run(["file", "-L", busybox], check=False).stdout and _ldd_dynamic(busybox):
        raise SandboxError(f"{busybox} is not static: install busybox-static")
    fs.file("/bin/busybox", busybox)
    applets = run([busybox, "--list"]).stdout.split()
    for applet in applets:
        if applet != "busybox" and re.fullmatch(r"[\w.+\[\]-]+", applet):
            fs.symlink(f"/bin/{applet}", "busybox")
    fs.symlink("/usr/bin/env", "/bin/busybox")


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
            raise SandboxError(f"{CA_BUNDLE} missing on the host (apt-get install ca-certificates)")
        fs.file(CA_BUNDLE, os.path.realpath(CA_BUNDLE))
    fs.dir("/tmp", 0o1777)
    fs.dir("/var/tmp", 0o1777)
    fs.dir("/root", 0o700)
    fs.dir("/home")
    for d in ("/proc", "/sys", "/dev", "/usr/local/bin"):
        fs.dir(d)


def _image_exists(client, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def _import(client, build, tag: str, changes: list[str]) -> None:
    repo, _, version = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "latest")
    with tempfile.TemporaryDirectory(prefix="sw-rootfs-") as tmp:
        tar_path = os.path.join(tmp, "rootfs.tar")
        with tarfile.open(tar_path, "w", format=tarfile.GNU_FORMAT) as tar:
            build(_RootFs(tar))
        client.api.import_image_from_file(tar_path, repository=repo, tag=version, changes=changes)
    if not _image_exists(client, tag):
        raise SandboxError(f"docker import of {tag} did not produce the image")


def _run_in(client, tag: str, cmd: list[str]) -> str:
    try:
        out = client.containers.run(tag, cmd, network_mode="host", remove=True, stderr=True)
    except Exception as exc:  # ContainerError carries the container's stderr
        raise SandboxError(f"{tag}: {' '.join(cmd)} failed: {exc}") from exc
    return out.decode().strip()


def ensure_node_base(client, tag: str = NODE_BASE_TAG, *, verify: bool = True) -> str:
    """Build (unless `tag` exists) a Node base image from the host; returns `tag`.

    `client` is a `docker.DockerClient`.  The image has node, npm/npx,
    busybox applets (/bin/sh, adduser, ...), dumb-init, root in passwd/group,
    the CA bundle, PATH=/usr/local/bin:/usr/bin:/bin and NODE_EXTRA_CA_CERTS.
    """
    if _image_exists(client, tag):
        return tag
    node, dumb_init = _which("node"), _which("dumb-init")
    modules = "/usr/lib/node_modules"
    if not os.path.isfile(f"{modules}/npm/bin/npm-cli.js"):
        raise SandboxError(f"{modules}/npm missing on the host (install nodejs/npm)")

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

    _import(client, build, tag, ENV_CHANGES + [f"ENV NODE_EXTRA_CA_CERTS={CA_BUNDLE}"])
    if verify:
        try:
            if _run_in(client, tag, ["node", "-e", "console.log(1)"]) != "1":
                raise SandboxError(f"{tag}: node did not print 1")
            if not re.match(r"^\d+\.\d+", _run_in(client, tag, ["npm", "--version"])):
                raise SandboxError(f"{tag}: npm --version printed no version")
        except BaseException:
            client.images.remove(tag, force=True)
            raise
    return tag


def ensure_busybox_image(client, tag: str = BUSYBOX_TAG) -> str:
    """A ~2 MB busybox-static image (sh, httpd, nc, wget, ...); returns `tag`."""
    if _image_exists(client, tag):
        return tag

    def build(fs: _RootFs) -> None:
        _add_busybox(fs)
        _add_etc(fs, ca_bundle=False)

    _import(client, build, tag, list(ENV_CHANGES))
    return tag
