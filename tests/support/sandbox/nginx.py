"""An own nginx instance in front of an app, with a blue-green upstream switch.

Why: the local deploy target and the tests need the same switch the remote
hosts do -- rewrite an included upstream file atomically (temp + os.replace),
`nginx -t`, `nginx -s reload` -- against a real nginx that does not touch the
system's /etc/nginx or /var/lib/nginx (everything lives under its own -p
prefix).  The include also carries a generation number served at
/__shipwright/generation, so `switch_upstream()` returns only once the new
workers answer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from ._proc import (
    SandboxError,
    free_port,
    http_get,
    log_tail,
    make_work_dir,
    run,
    start_process,
    stop_process,
    wait_until,
)

__all__ = ["Nginx", "GENERATION_PATH"]

GENERATION_PATH = "/__shipwright/generation"

_CONF = """\
worker_processes 1;
{user}error_log {prefix}/logs/error.log info;
pid {prefix}/logs/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log {prefix}/logs/access.log;
  client_body_temp_path {prefix}/tmp/body;
  proxy_temp_path {prefix}/tmp/proxy;
  fastcgi_temp_path {prefix}/tmp/fastcgi;
  uwsgi_temp_path {prefix}/tmp/uwsgi;
  scgi_temp_path {prefix}/tmp/scgi;
  include {prefix}/conf/upstream.conf;
  server {{
    listen {listen};
    location = {gen_path} {{
      access_log off;
      default_type text/plain;
      return 200 "$shipwright_generation";
    }}
    location / {{
      proxy_pass http://shipwright_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout;
    }}
  }}
}}
"""


def _upstream_conf(addrs: Sequence[str], generation: int) -> str:
    servers = "".join(f"  server {a};\n" for a in addrs)
    return (
        f"upstream shipwright_upstream {{\n{servers}  keepalive 16;\n}}\n"
        f'map $host $shipwright_generation {{ default "{generation}"; }}\n'
    )


class Nginx:
    """`with Nginx("127.0.0.1:3001") as ngx: ngx.url; ngx.switch_upstream("127.0.0.1:3002")`."""

    def __init__(
        self,
        upstream: str | Sequence[str],
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        work_dir: str | Path | None = None,
        timeout: float = 10,
    ):
        self._upstream = [upstream] if isinstance(upstream, str) else list(upstream)
        self.host, self.port, self.timeout = host, port, timeout
        self._own_dir = work_dir is None
        self.prefix: Path | None = Path(work_dir) if work_dir else None
        self.proc: subprocess.Popen | None = None
        self.generation = 0

    # paths -------------------------------------------------------------
    @property
    def conf(self) -> Path:
        assert self.prefix is not None
        return self.prefix / "conf" / "nginx.conf"

    @property
    def include(self) -> Path:
        assert self.prefix is not None
        return self.prefix / "conf" / "upstream.conf"

    @property
    def log(self) -> Path:
        assert self.prefix is not None
        return self.prefix / "logs" / "error.log"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def upstream(self) -> list[str]:
        return list(self._upstream)

    def _cmd(self, *extra: str) -> list[str]:
        return ["nginx", "-c", str(self.conf), "-p", str(self.prefix), "-e", str(self.log), *extra]

    # lifecycle ---------------------------------------------------------
    def start(self) -> Nginx:
        if self.proc is not None and self.proc.poll() is None:
            return self
        if self.prefix is None:
            self.prefix = make_work_dir("nginx")
        for sub in ("conf", "logs", "tmp"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port(self.host)
        user = "user root;\n" if os.geteuid() == 0 else ""
        self.conf.write_text(
            _CONF.format(
                prefix=self.prefix,
                listen=f"{self.host}:{self.port}",
                user=user,
                gen_path=GENERATION_PATH,
            )
        )
        self.generation += 1
        self._write_include(self._upstream, self.generation)
        self._test()
        self.proc = start_process(
            self._cmd("-g", "daemon off;"), self.prefix / "logs" / "stdout.log"
        )
        try:
            self._wait_generation(self.generation)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=5, sig=15)  # SIGTERM = fast shutdown
            self.proc = None
        if self._own_dir and self.prefix is not None:
            shutil.rmtree(self.prefix, ignore_errors=True)
            self.prefix = None

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # switching ---------------------------------------------------------
    def switch_upstream(self, addr: str | Sequence[str]) -> float:
        """Point the proxy at `addr` (host:port, or a list); returns seconds taken.

        Atomic include rewrite, `nginx -t` (the old file is restored if the
        test fails), `nginx -s reload`, then wait until the new workers serve.
        """
        if self.proc is None or self.proc.poll() is not None:
            raise SandboxError(
                "nginx is not running" + (f"\n{log_tail(self.log)}" if self.prefix else "")
            )
        t0 = time.monotonic()
        addrs = [addr] if isinstance(addr, str) else list(addr)
        old = self.include.read_text()
        self._write_include(addrs, self.generation + 1)
        try:
            self._test()
        except SandboxError:
            self._atomic_write(self.include, old)
            raise
        self.generation += 1
        self._upstream = addrs
        run(self._cmd("-s", "reload"), timeout=self.timeout)
        self._wait_generation(self.generation)
        return time.monotonic() - t0

    def _write_include(self, addrs: Sequence[str], generation: int) -> None:
        self._atomic_write(self.include, _upstream_conf(addrs, generation))

    @staticmethod
    def _atomic_write(path: Path, text: str) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)

    def _test(self) -> None:
        cp = run(self._cmd("-t"), check=False, timeout=self.timeout)
        if cp.returncode != 0:
            raise SandboxError(f"nginx -t failed for {self.conf}:\n{cp.stderr.strip()}")

    def _wait_generation(self, generation: int) -> None:
        url = self.url + GENERATION_PATH
        wait_until(
            lambda: http_get(url, timeout=1)[1] == str(generation).encode(),
            timeout=self.timeout,
            what=f"nginx on {self.host}:{self.port} (generation {generation})",
            log=self.log,
            proc=self.proc,
        )
