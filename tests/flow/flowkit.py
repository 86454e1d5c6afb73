"""Fixtures for the deploy-flow checks: the real sample app, and local HTTP receivers.

Why not a conftest.py: several suites here import helpers with ``from conftest import``,
and every extra conftest.py competes for that one module name. Test modules bind the
fixtures they use (``receiver = flowkit.receiver``) instead.

Everything listens on 127.0.0.1 only. The sample app is started with ``node
app/src/server.js`` on a free port; if the file is not there yet (another helper
writes it), the fixture waits for it up to FLOW_APP_WAIT seconds (default 20 min) and
then skips -- or fails in CI, which must provide it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import require

ROOT = Path(__file__).resolve().parents[2]
SERVER_JS = ROOT / "app" / "src" / "server.js"
APP_WAIT = float(os.environ.get("FLOW_APP_WAIT", "1200"))


need = require  # skips; fails in CI for integration tests (tests/conftest.py)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the sample app --------------------------------------------------------------------
@dataclass
class App:
    url: str
    port: int
    process: subprocess.Popen

    def get(self, path: str) -> int:
        try:
            with _no_proxy().open(self.url + path, timeout=5) as answer:
                answer.read()
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def post(self, path: str) -> int:
        request = urllib.request.Request(self.url + path, data=b"", method="POST")
        with _no_proxy().open(request, timeout=5) as answer:
            return answer.status

    def traffic(self, count: int, path: str = "/api/items") -> list[int]:
        return [self.get(path) for _ in range(count)]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _no_proxy() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="session")
def app_available() -> None:
    need(shutil.which("node") is not None, "node is not installed")
    deadline = time.monotonic() + APP_WAIT
    while not SERVER_JS.is_file() and time.monotonic() < deadline:
        time.sleep(10)
    need(SERVER_JS.is_file(), f"{SERVER_JS} did not appear within {APP_WAIT:.0f} s")


@pytest.fixture
def start_app(app_available) -> Iterator[Callable[..., App]]:
    """start_app(APP_FAIL_RATE="0.5", port=...) -> a running App; stopped after the test."""
    started: list[App] = []

    def start(port: int | None = None, wait_ready: bool = True, **env: str) -> App:
        port = port or free_port()
        full_env = {
            "PATH": os.environ.get("PATH", ""),
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "error",
            "APP_VERSION": "flow-test-1",
            "GIT_SHA": "abc1234",
            **env,
        }
        process = subprocess.Popen(
            ["node", str(SERVER_JS)],
            cwd=ROOT / "app",
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        app = App(f"http://127.0.0.1:{port}", port, process)
        started.append(app)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the sample app exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the sample app did not listen within 15 s")
        return app

    yield start
    for app in started:
        app.stop()


# -- receivers ---------------------------------------------------------------------------
@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    raw: str

    @property
    def json(self):
        return json.loads(self.raw)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    reply: str | Callable[[Received], str] = "ok"  # a function answers per request


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """receiver(status=200, reply="ok") -> a Receiver recording every request."""
    servers: list[ThreadingHTTPServer] = []

    def make(status: int = 200, reply: str | Callable[[Received], str] = "ok") -> Receiver:
        box = Receiver("", status=status, reply=reply)

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                got = Received(self.command, self.path, dict(self.headers), raw)
                box.requests.append(got)
                body = (box.reply(got) if callable(box.reply) else box.reply).encode()
                self.send_response(box.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _handle

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        box.url = f"http://127.0.0.1:{server.server_address[1]}"
        return box

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()
