"""Layered environments: precedence, expansion, provenance, validation (pure, in-process)."""

from pathlib import Path

import pytest
from helpers import project_root

from shipwright.errors import ConfigError, ExitCode
from shipwright.settings import known_environments, load_settings, parse_assignments

GOOD_STAGING = {
    "MONGO_URI": "mongodb://u:p4ss@db.internal:27017/learinal",
    "REDIS_URI": "redis://cache.internal:6379",
    "JWT_SECRET": "j" * 32,
    "JWT_REFRESH_SECRET": "r" * 32,
    "STRIPE_SECRET_KEY": "sk_test_123456",
    "STRIPE_WEBHOOK_SECRET": "whsec_123456",
}


def make_root(tmp_path: Path, files: dict[str, str]) -> Path:
    project_root(tmp_path)
    for name, text in files.items():
        (tmp_path / "envs" / name).write_text(text)
    return tmp_path


def load(root, env, environ=None, overrides=None, validate=True):
    return load_settings(
        env, root=root, environ=environ or {}, overrides=overrides, validate=validate
    )


def test_precedence_lowest_to_highest(tmp_path):
    root = make_root(
        tmp_path,
        {
            ".env": "PORT=3001\nLOG_LEVEL=info\nAPP_URL=http://a\nAWS_S3_BUCKET=base\n",
            ".env.staging": "PORT=3002\nLOG_LEVEL=info\nAPP_URL=http://b\n",
            ".env.staging.local": "PORT=3003\n",
        },
    )
    s = load(
        root,
        "staging",
        environ={**GOOD_STAGING, "NODE_ENV": "production", "PORT": "3004"},
        overrides={"APP_URL": "http://c"},
    )
    assert s["AWS_S3_BUCKET"] == "base"
    assert str(s.sources["AWS_S3_BUCKET"]) == "envs/.env:4"
    assert s["PORT"] == "3004" and s.sources["PORT"].layer == "process environment"
    assert s["APP_URL"] == "http://c" and s.sources["APP_URL"].layer == "--set"
    assert s["WATCH_SECONDS"] == "300" and s.sources["WATCH_SECONDS"].layer == "schema default"
    del_env = load(root, "staging", environ={**GOOD_STAGING, "NODE_ENV": "production"})
    assert del_env["PORT"] == "3003"
    assert str(del_env.sources["PORT"]) == "envs/.env.staging.local:1"


def test_expansion_across_files_with_defaults(tmp_path):
    root = make_root(
        tmp_path,
        {
            ".env": "APP_NAME=shop\nIMAGE_REPOSITORY=reg.example/${APP_NAME}\n"
            "APP_URL=http://${HOSTNAME_X:-localhost}:${PORT}\n",
            ".env.development": "PORT=4000\nLOG_LEVEL=debug\nPAYMENT_PROVIDER=mock\n"
            "LITERAL='${NOT_EXPANDED}'\n",
        },
    )
    s = load(root, "development")
    assert s["IMAGE_REPOSITORY"] == "reg.example/shop"
    assert s["APP_URL"] == "http://localhost:4000"  # PORT comes from the later file
    assert s["LITERAL"] == "${NOT_EXPANDED}"  # single quotes stay literal


def test_undefined_reference_and_cycle_name_file_and_line(tmp_path):
    root = make_root(
        tmp_path,
        {
            ".env.development": "LOG_LEVEL=debug\nPAYMENT_PROVIDER=mock\nAPP_URL=http://${NOPE}\n"
            "A=${B}\nB=${A}\n",
        },
    )
    with pytest.raises(ConfigError) as err:
        load(root, "development")
    text = str(err.value)
    assert "envs/.env.development:3: APP_URL refers to undefined ${NOPE}" in text
    assert "reference cycle: A -> B -> A" in text
    assert err.value.exit_code == ExitCode.BAD_INPUT


def test_malformed_lines_all_reported(tmp_path):
    root = make_root(
        tmp_path,
        {
            ".env.development": "LOG_LEVEL=debug\nthis is not an assignment\n"
            "PAYMENT_PROVIDER=mock\nBARE_KEY\nPORT=notaport\n",
        },
    )
    with pytest.raises(ConfigError) as err:
        load(root, "development")
    text = str(err.value)
    assert "3 problem(s)" in text
    assert "envs/.env.development:2: malformed line" in text
    assert "envs/.env.development:4: BARE_KEY has no '='" in text
    assert "envs/.env.development:5: PORT must be a whole number" in text


def test_missing_required_names_the_file_that_should_set_it(tmp_path):
    root = make_root(tmp_path, {".env.staging": "NODE_ENV=production\nLOG_LEVEL=info\n"})
    env = dict(GOOD_STAGING)
    del env["JWT_SECRET"]
    with pytest.raises(ConfigError) as err:
        load(root, "staging", environ=env)
    assert "envs/.env.staging.local (or the environment): JWT_SECRET is required in staging" in str(
        err.value
    )
    assert "1 problem(s)" in str(err.value)


def test_production_rejects_stripe_test_key_and_wrong_log_level(tmp_path):
    root = make_root(
        tmp_path,
        {
            ".env.production.local": "NODE_ENV=production\nLOG_LEVEL=info\n"
            "SENTRY_DSN=https://k@sentry.example/1\n"
        },
    )
    with pytest.raises(ConfigError) as err:
        load(root, "production", environ=GOOD_STAGING)
    text = str(err.value)
    assert "STRIPE_SECRET_KEY must be a live key (sk_live_) in production" in text
    assert "envs/.env.production.local:2: LOG_LEVEL must be warn in production" in text
    assert "sk_test_123456" not in text  # a secret value is never quoted back


def test_unknown_environment_lists_known_ones(tmp_path):
    root = make_root(tmp_path, {".env.qa": "LOG_LEVEL=info\n"})
    assert "qa" in known_environments(root)
    with pytest.raises(ConfigError, match="known environments are development, production, qa"):
        load(root, "nope")


def test_app_environment_ships_only_app_variables(tmp_path):
    root = make_root(
        tmp_path, {".env.development": "LOG_LEVEL=debug\nPAYMENT_PROVIDER=mock\nFEATURE_FLAG=on\n"}
    )
    s = load(
        root,
        "development",
        environ={"SLACK_WEBHOOK_URL": "https://hooks.example/x", "PATH": "/bin"},
    )
    shipped = s.app_environment()
    assert shipped["FEATURE_FLAG"] == "on"  # undeclared keys from env files are the app's
    assert "LOG_LEVEL" in shipped and "SLACK_WEBHOOK_URL" not in shipped
    assert "PATH" not in s.values  # the process environment only feeds declared keys


def test_set_flags_must_be_assignments():
    assert parse_assignments(["A=1", "B=x=y"]) == {"A": "1", "B": "x=y"}
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_assignments(["novalue"])


def test_tracked_production_or_local_env_files_are_refused(tmp_path):
    import subprocess

    from shipwright.settings.validate import tracked_env_files

    root = make_root(
        tmp_path, {".env": "A=1\n", ".env.production": "B=2\n", ".env.staging.local": "C=3\n"}
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-f", "envs"], check=True)
    assert sorted(tracked_env_files(root)) == ["envs/.env.production", "envs/.env.staging.local"]
    subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "rm",
            "-q",
            "--cached",
            "envs/.env.production",
            "envs/.env.staging.local",
        ],
        check=True,
    )
    assert tracked_env_files(root) == []


def test_the_settings_reference_page_is_up_to_date():
    from shipwright.settings import envcheck

    page = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
    assert page.read_text() == envcheck.reference(), "run: invoke env.reference --write"
    for name in ("DEPLOY_PROXY_PORT", "DEPLOY_HOST_ROOT", "DEPLOY_PULL_REGISTRY", "SMOKE_FILE"):
        assert f"`{name}`" in page.read_text()


def test_an_app_that_uses_none_of_the_specs_variables_is_valid_in_staging(tmp_path):
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "schema.yml").write_text(
        "variables:\n  GREETING:\n    group: core\n    description: what it says\n    ship: true\n"
    )
    (tmp_path / "envs" / ".env.staging").write_text("GREETING=hello\n")
    settings = load(tmp_path, "staging")  # no MONGO_URI, JWT_*, STRIPE_*: nothing required
    assert settings.app_environment() == {"GREETING": "hello"}
    assert "MONGO_URI" not in settings.schema.variables


def test_a_broken_app_schema_names_the_file_and_every_problem(tmp_path):
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "schema.yml").write_text(
        "variables:\n  A:\n    group: core\n  B:\n    group: core\n    description: b\n"
        "    colour: red\nrules:\n  - environment: staging\n    key: B\n    message: m\n"
    )
    with pytest.raises(ConfigError) as err:
        load(tmp_path, "staging")
    text = str(err.value)
    assert "3 problem(s)" in text and "schema.yml" in text
    assert "A: needs at least group and description" in text
    assert "unknown field(s) colour" in text and "needs equals or starts_with" in text
