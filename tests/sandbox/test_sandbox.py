"""The sandbox components, each started for real and checked the way tests will use it."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.sandbox import _proc
from support.sandbox.sshhosts import GUARD_CIDR

pytestmark = pytest.mark.integration

IS_ROOT = os.geteuid() == 0


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def docker_client():
    import docker
    from support.sandbox import ensure_engine

    client = docker.DockerClient(base_url=ensure_engine(), timeout=300)
    yield client
    client.close()


@pytest.fixture(scope="module")
def busybox(docker_client):
    from shipwright.machine.rootfs import ensure_busybox_image

    return ensure_busybox_image(docker_client)


def _text_server(body: str) -> socketserver.ThreadingTCPServer:
    """A tiny HTTP/1.1 server on 127.0.0.1 answering every GET with `body`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 - http.server API
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _push(client, image: str, registry_addr: str, name: str) -> str:
    ref = f"{registry_addr}/sandbox/{name}"
    client.images.get(image).tag(ref, tag="1")
    for line in client.images.push(ref, tag="1", stream=True, decode=True):
        assert "error" not in line, line
    client.images.remove(f"{ref}:1", noprune=True)
    return f"{ref}:1"


# ----------------------------------------------------------------------------- engine, images


def test_engine_is_ensured_once_and_left_running(docker_client):
    from support.sandbox import Engine, engine_answers, ensure_engine

    t0 = time.monotonic()
    host = ensure_engine()
    assert time.monotonic() - t0 < 3  # already answering: nothing is started
    assert engine_answers(host)
    with Engine(persist=False) as again:  # did not start it, so must not stop it
        assert again == host
    assert engine_answers(host)


def test_node_base_runs_node_npm_and_alpine_style_user_tools(docker_client, busybox):
    from shipwright.machine.rootfs import NODE_BASE_TAG, ensure_node_base

    assert ensure_node_base(docker_client) == NODE_BASE_TAG  # verifies node + npm itself
    attrs = docker_client.images.get(NODE_BASE_TAG).attrs["Config"]
    assert "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" in attrs["Env"]
    script = (
        "addgroup -S app && adduser -S app -G app && su app -s /bin/sh -c id"
        " && stat -c %a /tmp && test -s /etc/ssl/certs/ca-certificates.crt"
        " && dumb-init --version && npx --version >/dev/null && echo ok"
    )
    out = docker_client.containers.run(
        NODE_BASE_TAG, ["sh", "-c", script], network_mode="host", remove=True, stderr=True
    ).decode()
    assert "uid=100(app) gid=100(app)" in out
    assert "1777" in out
    assert out.strip().endswith("ok")
    small = docker_client.containers.run(busybox, ["sh", "-c", "echo hi"], remove=True)
    assert small.strip() == b"hi"


def test_registry_serves_the_same_storage_on_a_second_listener(docker_client, busybox):
    from support.sandbox.registry import Registry

    with Registry() as reg:
        second = reg.add_listener("127.0.0.2")
        _push(docker_client, busybox, reg.addr, "bb")
        status, body, _ = _proc.http_get(f"http://{second}/v2/sandbox/bb/tags/list")
        assert status == 200 and json.loads(body)["tags"] == ["1"]
        work = reg.work_dir
    assert not work.exists()
    assert not _proc.tcp_answers("127.0.0.2", int(second.rsplit(":", 1)[1]))


# ----------------------------------------------------------------------------- nginx, redis, moto


def test_nginx_switches_upstream_without_failed_requests():
    from support.sandbox.nginx import Nginx

    blue, green = _text_server("blue"), _text_server("green")
    try:
        with Nginx(f"127.0.0.1:{blue.server_address[1]}") as ngx:
            assert _proc.http_get(ngx.url + "/")[1] == b"blue"
            results: list[int] = []
            stop = threading.Event()

            def load():
                while not stop.is_set() and len(results) < 2000:
                    try:
                        results.append(_proc.http_get(ngx.url + "/x", timeout=2)[0])
                    except OSError:
                        results.append(-1)

            worker = threading.Thread(target=load)
            worker.start()
            time.sleep(0.2)
            took = ngx.switch_upstream(f"127.0.0.1:{green.server_address[1]}")
            time.sleep(0.2)
            stop.set()
            worker.join()
            assert took < 5
            assert results and all(code == 200 for code in results)
            assert _proc.http_get(ngx.url + "/")[1] == b"green"
            with pytest.raises(_proc.SandboxError, match="nginx -t failed"):
                ngx.switch_upstream("not an address;")
            assert _proc.http_get(ngx.url + "/")[1] == b"green"  # old include restored
            port = ngx.port
        assert not _proc.tcp_answers("127.0.0.1", port)
    finally:
        blue.shutdown()
        green.shutdown()


def test_redis_answers_and_keeps_nothing_on_disk():
    from support.sandbox.redis import Redis

    with Redis() as redis:
        assert redis.uri.startswith("redis://127.0.0.1:")
        with socket.create_connection((redis.host, redis.port), timeout=2) as s:
            s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
            time.sleep(0.1)
            assert s.recv(100) == b"+OK\r\n$1\r\nv\r\n"
        assert not list(redis.work_dir.glob("*.rdb"))
        port = redis.port
    assert not _proc.tcp_answers("127.0.0.1", port)


def test_moto_serves_aws_apis_and_resets(monkeypatch):
    import boto3
    from support.sandbox.moto import MotoServer

    with MotoServer() as moto:
        for key, value in moto.env().items():
            monkeypatch.setenv(key, value)
        ecr = boto3.client("ecr")
        ecr.create_repository(repositoryName="web")
        assert boto3.client("sts").get_caller_identity()["Account"] == "123456789012"
        assert len(ecr.describe_repositories()["repositories"]) == 1
        moto.reset()
        assert ecr.describe_repositories()["repositories"] == []


# ----------------------------------------------------------------------------- SSH hosts


def test_loopback_hosts_run_commands_and_upload_over_fabric():
    from support.sandbox.sshhosts import SshHosts

    with SshHosts(2, isolated=False) as hosts:
        assert [h.address for h in hosts.hosts] == ["127.0.0.2", "127.0.0.3"]
        results = hosts.group().run(
            'echo "$SHIPWRIGHT_HOST_NAME $SHIPWRIGHT_HOST_ADDRESS"; docker info -f "{{.ID}}"',
            hide=True,
        )
        by_host = {c.host: r.stdout.split() for c, r in results.items()}
        assert by_host["127.0.0.2"][:2] == ["h0", "127.0.0.2"]
        assert by_host["127.0.0.3"][:2] == ["h1", "127.0.0.3"]
        assert by_host["127.0.0.2"][2] == by_host["127.0.0.3"][2]  # one shared engine
        local = Path(hosts.work_dir) / "upload.txt"
        local.write_text("payload")
        conn = hosts.connection(1)
        conn.put(str(local), f"{hosts.hosts[1].state_dir}/upload.txt")
        assert (Path(hosts.hosts[1].state_dir) / "upload.txt").read_text() == "payload"
        hosts.stop_host(1)
        assert not _proc.tcp_answers("127.0.0.3", hosts.hosts[1].port)
        hosts.start_host(1)
        assert hosts.connection(1).run("echo back", hide=True).stdout.strip() == "back"
    with pytest.raises(_proc.SandboxError, match="torn down"):
        conn.run("true")


@pytest.mark.skipif(not IS_ROOT, reason="network namespaces need root")
def test_isolated_hosts_have_own_engines_addresses_and_survive_a_crash(docker_client, busybox):
    from support.sandbox.sshhosts import SshHosts

    with SshHosts(2) as hosts:
        h0, h1 = hosts.hosts
        assert h0.address != h1.address and h0.port == h1.port == 22
        roots = hosts.group().run("docker info --format '{{.DockerRootDir}}'", hide=True)
        seen = {c.host: r.stdout.strip() for c, r in roots.items()}
        assert seen == {h.address: f"{Path(h.docker_dir) / 'data'}" for h in hosts.hosts}

        # The main engine pushes to 127.0.0.1; the hosts pull from the bridge listener.
        ref = _push(docker_client, busybox, hosts.push_addr, "web")
        pulled_ref = ref.replace(hosts.push_addr, hosts.registry_addr)
        serve = (
            "docker pull -q {ref} >/dev/null && docker run -d --name web --restart always"
            " --network host {ref} sh -c"
            " 'echo $0 > /tmp/index.html; exec httpd -f -p 18080 -h /tmp' \"$SHIPWRIGHT_HOST_NAME\""
        )
        hosts.group().run(serve.format(ref=pulled_ref), hide=True)

        def page(h):
            return _proc.http_get(f"http://{h.address}:18080/index.html", timeout=2)[1].strip()

        # Same port on both hosts, no clash; each address answers with its own container.
        _proc.wait_until(lambda: page(h0) == b"h0" and page(h1) == b"h1", timeout=10, what="web")
        ps = hosts.connection(0).run("docker ps -q | wc -l", hide=True).stdout.strip()
        assert ps == "1"

        t0 = time.monotonic()
        hosts.stop_host(0)  # crash: daemons and containers killed, link unplugged
        assert time.monotonic() - t0 < 10
        with pytest.raises(OSError):
            socket.create_connection((h0.address, 22), timeout=2).close()
        assert page(h1) == b"h1"
        hosts.start_host(0)  # restart policy brings the container back
        _proc.wait_until(lambda: page(h0) == b"h0", timeout=20, what="web on h0 after restart")
        conn = hosts.connection(0)
        assert conn.run("echo $SHIPWRIGHT_HOST_ROOT", hide=True).stdout.strip() == h0.state_dir
        netns, subnet, work = list(hosts.netns), hosts.subnet, hosts.work_dir

    # Teardown: namespaces, link and route gone; the guard route keeps the range local.
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(ns in listed for ns in netns)
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    assert f"10.213.{subnet}.0/24" not in routes
    assert f"blackhole {GUARD_CIDR}" in routes
    assert not work.exists()
    with pytest.raises(_proc.SandboxError, match="torn down"):
        conn.run("true")


@pytest.mark.skipif(not IS_ROOT, reason="network namespaces need root")
def test_sandbox_of_a_killed_process_is_cleaned_up_next_time(tmp_path):
    from support.sandbox.sshhosts import _pids_referencing, cleanup_stale

    ready = tmp_path / "ready"
    code = (
        "import sys, time, json\n"
        "from support.sandbox.sshhosts import SshHosts\n"
        "h = SshHosts(1).start()\n"
        "open(sys.argv[1], 'w').write(json.dumps([h.netns, str(h.work_dir)]))\n"
        "time.sleep(60)\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{root / 'tests'}"}
    child = subprocess.Popen([sys.executable, "-c", code, str(ready)], env=env)
    try:
        _proc.wait_until(ready.exists, timeout=30, what="child sandbox", proc=child)
        time.sleep(0.2)
        netns, work = json.loads(ready.read_text())
    finally:
        os.kill(child.pid, signal.SIGKILL)  # no teardown runs
        child.wait()
    assert os.path.exists(f"/run/netns/{netns[1]}")
    cleaned = cleanup_stale()
    assert cleaned
    assert not os.path.exists(f"/run/netns/{netns[1]}")
    assert not _pids_referencing(work + "/")
    assert not Path(work).exists()
