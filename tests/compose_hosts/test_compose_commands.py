"""The command builder, batching, host-state parsing and the plan (pure; a few commands
also run in a local shell to prove their shell semantics)."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
import time

import pytest

from shipwright.domain import Release
from shipwright.errors import ConfigError
from shipwright.settings import load_settings
from shipwright.targets.compose_hosts import commands as cmd
from shipwright.targets.compose_hosts import nginx
from shipwright.targets.compose_hosts.config import ComposeConfig, HostAddress
from shipwright.targets.compose_hosts.hosts import parse_state
from shipwright.targets.compose_hosts.plan import build_plan
from shipwright.targets.compose_hosts.rollout import batches
from shipwright.targets.compose_hosts.switcher import env_file_content

DIGEST = "sha256:" + "b" * 64
IMAGE = f"10.213.0.1:5000/learinal-backend:main-abc1234@{DIGEST}"
RELEASE = Release("staging", "main-abc1234", IMAGE, git_sha="abc1234", who="ci", when="now")
LAYOUT = cmd.Layout("/srv/sw", "learinal-backend")


def sh(command: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=timeout)


# -- batching -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "n, size, expected",
    [(3, 1, [[0], [1], [2]]), (3, 2, [[0, 1], [2]]), (3, 5, [[0, 1, 2]]), (0, 2, [])],
)
def test_batches(n, size, expected):
    assert batches(list(range(n)), size) == expected


def test_batch_size_must_be_positive():
    with pytest.raises(ValueError):
        batches([1], 0)


# -- images ---------------------------------------------------------------------------
def test_pull_is_by_digest_only():
    assert cmd.pull(IMAGE) == f"docker pull 10.213.0.1:5000/learinal-backend@{DIGEST}"
    assert cmd.repository_of(IMAGE) == "10.213.0.1:5000/learinal-backend"
    with pytest.raises(ConfigError, match="digest"):
        cmd.by_digest("10.213.0.1:5000/learinal-backend:latest")
    with pytest.raises(ConfigError):
        cmd.by_digest("repo@sha256:short")


def test_run_container_has_slot_port_labels_env_file_and_restart_policy():
    line = cmd.run_container(LAYOUT, RELEASE, "green", 30)
    assert "--name learinal-backend-green" in line and "--network host" in line
    assert "--env-file /srv/sw/learinal-backend/env/green.env" in line
    assert "--restart unless-stopped" in line and "--stop-timeout 30" in line
    assert "io.shipwright.version=main-abc1234" in line
    assert line.endswith(f"10.213.0.1:5000/learinal-backend@{DIGEST}")
    assert line.startswith("docker rm -f learinal-backend-green")


def test_slots_and_ports():
    assert cmd.other_slot(None) == "blue" and cmd.other_slot("blue") == "green"
    assert cmd.other_slot("green") == "blue"
    assert cmd.slot_port("blue", 3000) == 3000 and cmd.slot_port("green", 3000) == 3001


def test_env_file_content_sets_slot_port_and_version_and_refuses_newlines():
    text = env_file_content({"JWT_SECRET": "s3cret-value", "PORT": "3000"}, RELEASE, 3001)
    lines = text.splitlines()
    assert "PORT=3001" in lines and "HOST=127.0.0.1" in lines and "JWT_SECRET=s3cret-value" in lines
    assert "APP_VERSION=main-abc1234" in lines and "GIT_SHA=abc1234" in lines
    with pytest.raises(ConfigError, match="newline"):
        env_file_content({"BAD": "a\nb"}, RELEASE, 3000)


def test_login_reads_password_from_file_never_the_line():
    line = cmd.login("10.213.0.1:5000", "ci", "/srv/sw/app/env/.pw")
    assert "--password-stdin" in line and "< /srv/sw/app/env/.pw" in line and "rm -f" in line


# -- nginx ----------------------------------------------------------------------------
def test_nginx_conf_is_valid_for_nginx(tmp_path):
    layout = cmd.Layout(str(tmp_path), "app")
    assert sh(cmd.prepare(layout)).returncode == 0
    assert sh(nginx.write_nginx_conf(layout, 18080)).returncode == 0
    (tmp_path / "app/nginx/upstream.conf").write_text(nginx.upstream("127.0.0.1", 13000, "g1"))
    conf = (tmp_path / "app/nginx/nginx.conf").read_text()
    assert "listen 18080;" in conf and f"include {layout.upstream};" in conf
    assert nginx.GENERATION_PATH in conf
    result = sh(f"nginx -t -q -c {layout.nginx_conf} -p {layout.nginx}/")
    assert result.returncode == 0, result.stderr


def test_switch_writes_upstream_atomically_tests_and_reloads():
    line = nginx.switch(LAYOUT, "green", "127.0.0.1", 3001, 80, generation="green-42")
    up = "/srv/sw/learinal-backend/nginx/upstream.conf"
    assert f"mv -f {up}.tmp {up}" in line
    assert line.index("mv -f " + up + ".tmp") < line.index(" -t -q") < line.index("-s reload")
    assert "server 127.0.0.1:3001;" in line and "active-slot" in line
    assert line.index("-s reload") < line.index("= green-42 ]") < line.index("active-slot")


def test_switch_really_moves_traffic_in_a_real_nginx(tmp_path):
    """The switch command end to end in a local shell: start nginx, switch, switch back."""
    import socket

    def free():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    layout, listen = cmd.Layout(str(tmp_path), "app"), free()
    servers = []
    for name in ("blue", "green"):
        body = name.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            payload = body

            def do_GET(self):  # noqa: N802
                self.send_response(200)
                self.end_headers()
                self.wfile.write(self.payload)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    try:
        assert sh(cmd.prepare(layout)).returncode == 0
        for slot, server in (("blue", servers[0]), ("green", servers[1]), ("blue", servers[0])):
            line = nginx.switch(layout, slot, "127.0.0.1", server.server_port, listen, keep_warm=60)
            result = sh(line)
            assert result.returncode == 0, result.stdout + result.stderr
            assert result.stdout.split() == [nginx.SWITCHING, nginx.SWITCHED]
            assert (tmp_path / "app/active-slot").read_text() == slot + "\n"
            left, until = (tmp_path / "app/warm-slot").read_text().split()
            assert left == cmd.other_slot(slot) and 55 <= int(until) - time.time() <= 61
            # Once settled, no old worker is left to proxy to the colour it left.
            assert sh(nginx.settled(layout, timeout=5)).returncode == 0
            master = (tmp_path / "app/nginx/nginx.pid").read_text().strip()
            assert len(sh(f"pgrep -P {master}").stdout.split()) == 1
            # An old worker may still take a connection or two while it shuts down (the
            # old slot keeps serving then, so no request fails); new ones must follow.
            deadline = time.monotonic() + 3
            while (got := sh(f"curl -s http://127.0.0.1:{listen}/").stdout) != slot:
                assert time.monotonic() < deadline, f"still {got!r} after switching to {slot}"
                time.sleep(0.05)
    finally:
        sh(f"nginx -c {layout.nginx_conf} -p {layout.nginx}/ -s stop")
        for server in servers:
            server.shutdown()


FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "$DOCKER_LOG"
case "$1" in
  inspect) echo "${RUNNING:-true}";;
  images) printf '%s\\n' "r/app@sha256:1 id1 <none>" "r/app@sha256:2 id2 <none>" \\
    "r/app@sha256:3 id3 v3" "r/app@sha256:4 id2 <none>";;
esac
"""


def fake_docker(tmp_path, monkeypatch):
    """A ``docker`` on PATH that logs its arguments (the shell logic is what is tested)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    log = tmp_path / "docker.log"
    log.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("DOCKER_LOG", str(log))
    return log


def test_the_idle_colour_is_stopped_only_once_its_keep_warm_time_is_over(tmp_path, monkeypatch):
    log = fake_docker(tmp_path, monkeypatch)
    layout = cmd.Layout(str(tmp_path), "app")
    (tmp_path / "app").mkdir()
    (tmp_path / "app/active-slot").write_text("green\n")
    warm = tmp_path / "app/warm-slot"
    warm.write_text(f"blue {int(time.time()) + 60}\n")
    assert sh(nginx.stop_cold(layout, 7)).stdout == ""  # still warm
    assert "stop" not in log.read_text()
    warm.write_text(f"blue {int(time.time()) - 1}\n")
    assert sh(nginx.stop_cold(layout, 7)).stdout.strip() == "stopped blue"
    assert "stop -t 7 app-blue" in log.read_text()
    warm.write_text(f"green {int(time.time()) + 60}\n")  # marks the serving one: not warm
    assert sh(nginx.stop_cold(layout, 7)).stdout.strip() == "stopped blue"
    monkeypatch.setenv("RUNNING", "false")  # stopped already: nothing to do
    assert sh(nginx.stop_cold(layout, 7)).stdout == ""
    (tmp_path / "app/active-slot").unlink()  # nothing serves: nothing is out of traffic
    assert sh(nginx.stop_cold(layout, 7)).returncode == 0


def test_images_no_release_needs_are_removed_untagged_only(tmp_path, monkeypatch):
    log = fake_docker(tmp_path, monkeypatch)
    result = sh(cmd.remove_images(["r/app"], ["r/app@sha256:2"]))
    assert result.stdout.strip() == "removed 1"
    (rmi,) = [line for line in log.read_text().splitlines() if line.startswith("rmi")]
    assert rmi == "rmi id1"  # id2 is needed (by its other name too), id3 is tagged


def test_health_names_the_failing_path():
    line = cmd.health(80, ["/health", "/readyz"])
    assert "http://127.0.0.1:80/health" in line and "failed: /readyz" in line


def test_wait_ready_polls_until_ready_and_fails_when_never(tmp_path):
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            hits.append(self.path)
            self.send_response(200 if len(hits) >= 3 else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/readyz"
        # `docker inspect` of a missing container fails: stub docker with a shell function.
        stub = 'docker() { [ "$1" = inspect ] && echo true 0; }; '
        assert sh(stub + cmd.wait_ready(LAYOUT, "blue", url, 5, 0.05)).returncode == 0
        assert len(hits) >= 3
        server.RequestHandlerClass.do_GET = lambda self: (
            self.send_response(503),
            self.end_headers(),
        )
        result = sh(stub + cmd.wait_ready(LAYOUT, "blue", url, 0.5, 0.05))
        assert result.returncode == 2 and "not ready after 0.5s" in result.stdout
        stopped = 'docker() { [ "$1" = inspect ] && echo true 1; }; '
        result = sh(stopped + cmd.wait_ready(LAYOUT, "blue", url, 5, 0.05))
        assert result.returncode == 3 and "stopped" in result.stdout
    finally:
        server.shutdown()


# -- lock and ledger files, in a real shell --------------------------------------------
def test_lock_file_is_created_once_and_deleted_only_with_token(tmp_path):
    lock = str(tmp_path / "locks/staging.lock")
    first = sh(cmd.lock_create(lock, json.dumps({"holder": "ana", "token": "t1"})))
    assert first.stdout.strip() == "acquired"
    second = sh(cmd.lock_create(lock, json.dumps({"holder": "bo", "token": "t2"})))
    held, holder = second.stdout.strip().splitlines()
    assert held == "held" and json.loads(holder)["holder"] == "ana"
    sh(cmd.lock_delete(lock, "t2"))
    assert (tmp_path / "locks/staging.lock").exists()
    sh(cmd.lock_delete(lock, "t1"))
    assert not (tmp_path / "locks/staging.lock").exists()
    sh(cmd.lock_create(lock, "{}"))
    sh(cmd.lock_delete(lock))  # break: no token
    assert not (tmp_path / "locks/staging.lock").exists()


def test_lock_create_is_atomic_under_a_race(tmp_path):
    lock = str(tmp_path / "race.lock")
    procs = [
        subprocess.Popen(
            ["sh", "-c", cmd.lock_create(lock, json.dumps({"n": i}))],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(20)
    ]
    winners = [p.communicate()[0].splitlines()[0] for p in procs].count("acquired")
    assert winners == 1


def test_ledger_append_and_read_with_quotes(tmp_path):
    path = str(tmp_path / "ledger/staging.jsonl")
    entry = json.dumps({"reason": 'it\'s "quoted" $HOME `x`'})
    sh(cmd.ledger_append(path, entry))
    sh(cmd.ledger_append(path, entry))
    out = sh(cmd.read_file(path)).stdout.splitlines()
    assert [json.loads(line)["reason"] for line in out] == ['it\'s "quoted" $HOME `x`'] * 2
    assert sh(cmd.read_file(str(tmp_path / "missing"))).returncode == 0


def test_root_expression_expands_on_the_host():
    layout = cmd.Layout(cmd.ROOT_EXPR, "app")
    out = subprocess.run(
        ["sh", "-c", "echo " + cmd.path(layout.lock("staging"))],
        capture_output=True,
        text=True,
        env={"SHIPWRIGHT_HOST_ROOT": "/x y"},
    ).stdout
    assert out.strip() == "/x y/app/locks/staging.lock"
    unset = subprocess.run(["sh", "-c", cmd.resolve_root()], capture_output=True, text=True, env={})
    assert unset.stdout.strip() == cmd.DEFAULT_ROOT


# -- host state -------------------------------------------------------------------------
def test_parse_state():
    release = json.dumps(RELEASE.to_dict())
    state = parse_state(
        f"active=green\nblue|exited|none|{release}\ngreen|running|healthy|{release}\nnginx=running\n"
    )
    assert state.active == "green" and state.nginx_running
    assert state.serving == RELEASE and state.slots["blue"].status == "exited"
    empty = parse_state("active=\nblue|missing|none|\ngreen|missing|none|\nnginx=stopped\n")
    assert empty.active is None and empty.serving is None and not empty.nginx_running
    assert empty.to_dict()["version"] is None
    warm = parse_state(
        f"root=/srv/x\nactive=green\nwarm=blue 1100\nnow=1000\n"
        f"blue|running|none|{release}\ngreen|running|none|{release}\n"
    )
    assert warm.root == "/srv/x" and warm.idle.slot == "blue" and warm.warm_seconds == 100
    assert warm.idle.holds(RELEASE) and not warm.idle.holds(Release("x", "y", "r@sha256:1"))
    stopped = parse_state(f"active=green\nwarm=blue 1100\nnow=1000\nblue|exited|none|{release}\n")
    assert stopped.warm_seconds == 0  # a stopped colour is not warm, whatever the marker says


def test_keep_warm_is_at_least_the_watch_window():
    assert ComposeConfig.from_settings(settings()).keep_warm == 1800
    config = ComposeConfig.from_settings(settings(DEPLOY_KEEP_WARM="60", WATCH_SECONDS="900"))
    assert config.keep_warm == 900


# -- config and plan ----------------------------------------------------------------------
def settings(**values):
    base = {
        "DEPLOY_HOSTS": "10.213.0.2,10.213.0.3:2222,10.213.0.4",
        "DEPLOY_BATCH_SIZE": "2",
        "SSH_USER": "deploy",
        "MONGO_URI": "",
        "REDIS_URI": "",
    }
    base.update(values)
    return load_settings("test", overrides=base, environ={})


def test_config_from_settings():
    config = ComposeConfig.from_settings(settings(DEPLOY_PROXY_PORT="8080"))
    assert (
        config.hosts[1] == HostAddress("10.213.0.3", 2222)
        and config.hosts[1].name == "10.213.0.3:2222"
    )
    assert config.batch_size == 2 and config.proxy_port == 8080 and config.port == 3000
    assert config.health_paths == ("/health", "/livez", "/readyz")


@pytest.mark.parametrize(
    "values, message",
    [
        ({"DEPLOY_HOSTS": ""}, "DEPLOY_HOSTS is empty"),
        ({"DEPLOY_PROXY_PORT": "3001"}, "collides"),
        ({"DEPLOY_HOSTS": "deploy@h1"}, "SSH_USER"),
        ({"DEPLOY_HOSTS": "h1:99999"}, "bad port"),
        ({"DEPLOY_HOST_ROOT": "relative/dir"}, "absolute"),
    ],
)
def test_config_problems_are_bad_input(values, message):
    with pytest.raises(ConfigError, match=message):
        ComposeConfig.from_settings(settings(**values))


def test_plan_lists_every_command_per_batch_without_connecting():
    config = ComposeConfig.from_settings(settings())
    layouts = {h.name: cmd.Layout("/srv/sw", "learinal-backend") for h in config.hosts}
    plan = build_plan(RELEASE, config, layouts, {"10.213.0.2": "blue"})
    text = "\n".join(plan.steps)
    assert "2 batch(es) of 2" in text and "batch 2: 10.213.0.4" in text
    first_host = [s for s in plan.steps if s.startswith("[10.213.0.2] ")]
    assert any("docker run -d --name learinal-backend-green" in s for s in first_host)
    assert "[10.213.0.4] idle slot: blue, or green if blue serves" in text
    assert "(mode 0600)" in text and "keep blue running out of traffic for 1800s" in text
    assert "docker stop" not in text  # the old colour stays warm
    cold = ComposeConfig.from_settings(settings(DEPLOY_KEEP_WARM="0", WATCH_SECONDS="0"))
    plan = build_plan(RELEASE, cold, layouts, {"10.213.0.2": "blue"})
    assert "docker stop -t 30 learinal-backend-blue" in "\n".join(plan.steps)


def test_release_from_an_explicit_image_reference():
    from shipwright.flow.release import release_for
    from shipwright.runner import Runner

    release = release_for(settings(), Runner(echo=False), image=IMAGE)
    assert (release.environment, release.version, release.image) == ("test", "main-abc1234", IMAGE)
    named = release_for(settings(), Runner(echo=False), version="hotfix", image=IMAGE)
    assert named.version == "hotfix"
    untagged = release_for(settings(), Runner(echo=False), image=f"r/app@{DIGEST}")
    assert untagged.version == DIGEST[7:19]
