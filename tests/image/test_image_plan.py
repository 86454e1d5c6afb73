"""--dry-run plans, stream parsing, retries and auth handling -- no engine involved."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shipwright import PROJECT_ROOT
from shipwright.errors import ConfigError, ExitCode, ShipwrightError
from shipwright.image import build as builder
from shipwright.image import push as pusher
from shipwright.image import record as records
from shipwright.image.tags import GitInfo
from shipwright.runner import Runner
from shipwright.settings import load_settings

pytestmark = pytest.mark.usefixtures("own_state")

SHA = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
DIGEST = "sha256:" + "cd" * 32
REPO = "127.0.0.1:5999/learinal-backend"


@pytest.fixture
def no_docker(monkeypatch):
    """Any `import docker` fails: proves a dry run never touches the engine."""
    monkeypatch.setitem(sys.modules, "docker", None)


def settings(**extra):
    values = {"IMAGE_REPOSITORY": REPO, "BASE_IMAGE": "local/node-base:18", **extra}
    return load_settings("development", overrides=values, environ={})


def test_build_dry_run_prints_the_plan_and_changes_nothing(tmp_path, no_docker, capsys):
    runner = Runner(dry_run=True)
    record = builder.build_image(
        settings(),
        runner,
        git=GitInfo("main", SHA),
        root=tmp_path,
        context=PROJECT_ROOT / "app",
        target="production",
    )
    assert record.tags == ["main-1a2b3c4", "latest"]
    pull, build, tag = runner.plan
    assert pull == f"[api] docker pull {REPO}:latest (build cache)"
    assert build.startswith(f"[api] docker build {PROJECT_ROOT / 'app'} --target production")
    for part in (
        f"--tag {REPO}:main-1a2b3c4",
        "--build-arg BASE_IMAGE=local/node-base:18",
        "--build-arg VERSION=main-1a2b3c4",
        f"--build-arg REVISION={SHA}",
        "--build-arg CREATED=",
        f"--cache-from {REPO}:latest",
        "--network host",
    ):
        assert part in build
    assert tag == f"[api] docker tag {REPO}:main-1a2b3c4 {REPO}:latest"
    assert not records.records_dir(tmp_path).exists()
    assert "would run [api] docker build" in capsys.readouterr().out


def test_no_pull_cache_plans_no_pull(tmp_path, no_docker):
    runner = Runner(dry_run=True)
    builder.build_image(
        settings(),
        runner,
        git=GitInfo("main", SHA),
        root=tmp_path,
        context=PROJECT_ROOT / "app",
        pull_cache=False,
    )
    assert [line.split()[2] for line in runner.plan] == ["build", "tag"]


def test_build_cache_comes_from_the_branch_previous_image(tmp_path):
    previous = records.ImageRecord(
        "develop-0000001", REPO, ["develop-0000001"], "0" * 40, "develop", "2024-12-01T00:00:00Z"
    )
    records.save(previous, tmp_path)
    plan = builder.plan_build(
        settings(), GitInfo("develop", SHA), root=tmp_path, context=PROJECT_ROOT / "app"
    )
    assert plan.cache_from == [f"{REPO}:develop-0000001"]
    assert plan.labels["org.opencontainers.image.revision"] == SHA
    assert plan.labels["io.shipwright.branch"] == "develop"
    dev = builder.plan_build(
        settings(),
        GitInfo("develop", SHA),
        target="development",
        root=tmp_path,
        context=PROJECT_ROOT / "app",
    )
    assert dev.cache_from == [] and dev.version == "develop-1a2b3c4-dev"


def test_build_rejects_unknown_targets_and_missing_dockerfiles(tmp_path):
    with pytest.raises(ConfigError, match="unknown build target"):
        builder.plan_build(settings(), GitInfo("x", SHA), target="prod", root=tmp_path)
    with pytest.raises(ConfigError, match="no Dockerfile"):
        builder.plan_build(settings(), GitInfo("x", SHA), root=tmp_path)


def test_push_dry_run_plans_login_and_every_tag_without_the_password(tmp_path, no_docker):
    runner = Runner(dry_run=True)
    s = settings(DOCKER_USERNAME="ci-bot", DOCKER_PASSWORD="s3cret-token-value")
    record = pusher.push_image(s, runner, git=GitInfo("main", SHA), root=tmp_path)
    assert runner.plan == [
        "[api] docker login 127.0.0.1:5999 --username ci-bot --password-stdin",
        f"[api] docker push {REPO}:main-1a2b3c4",
        f"[api] docker push {REPO}:latest",
    ]
    assert record.digest == "" and not records.records_dir(tmp_path).exists()


def test_push_needs_both_credentials_or_neither(tmp_path, no_docker):
    with pytest.raises(ConfigError, match="DOCKER_PASSWORD is not set"):
        pusher.push_image(
            settings(DOCKER_USERNAME="u"),
            Runner(dry_run=True),
            git=GitInfo("x", SHA),
            root=tmp_path,
        )


def test_push_of_an_unknown_version_lists_the_known_ones(tmp_path, no_docker):
    with pytest.raises(ConfigError, match="version nope-1234567 does not exist"):
        pusher.push_image(settings(), Runner(dry_run=True), version="nope-1234567", root=tmp_path)


def test_tasks_load_without_the_docker_sdk():
    code = "import sys, tasks.image; assert 'docker' not in sys.modules, 'docker imported'"
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, check=True)


def test_tags_task_json(capsys, monkeypatch):
    from invoke import Context

    monkeypatch.syspath_prepend(str(PROJECT_ROOT))  # tasks.py is not an installed package

    from tasks import image as image_tasks

    monkeypatch.setenv("GITHUB_REF_NAME", "main")
    monkeypatch.setenv("GITHUB_SHA", SHA)
    image_tasks.tags(Context(), set=[f"IMAGE_REPOSITORY={REPO}"], json=True)
    data = json.loads(capsys.readouterr().out)
    assert data["tags"] == ["main-1a2b3c4", "latest"]
    assert data["references"] == [f"{REPO}:main-1a2b3c4", f"{REPO}:latest"]


# --- streams -------------------------------------------------------------------------


def test_follow_build_names_the_failing_step_with_its_output(capsys):
    stream = [
        {"stream": "Step 1/3 : FROM base\n"},
        {"stream": " ---> 1234\n"},
        {"stream": "Step 2/3 : RUN npm run lint\n"},
        {"stream": " ---> Running in abcd\n"},
        {"stream": "error  'x' is defined but never used  no-unused-vars\n"},
        {
            "error": "The command '/bin/sh -c npm run lint' returned a non-zero code: 1",
            "errorDetail": {
                "message": "The command '/bin/sh -c npm run lint' returned a non-zero code: 1",
                "code": 1,
            },
        },
    ]
    with pytest.raises(ShipwrightError) as caught:
        builder.follow_build(iter(stream))
    message = str(caught.value)
    assert message.startswith("docker build failed at Step 2/3 : RUN npm run lint: The command")
    assert "no-unused-vars" in message and "FROM base" not in message
    assert "Step 1/3 : FROM base" in capsys.readouterr().out  # progress shown line by line


def test_follow_build_returns_the_image_id():
    stream = [
        {"stream": "Step 1/1 : FROM x\n"},
        {"aux": {"ID": "sha256:" + "e" * 64}},
        {"stream": "Successfully built eeeeeeeeeeee\n"},
    ]
    assert builder.follow_build(iter(stream)) == "sha256:" + "e" * 64


def test_follow_push_reads_the_digest():
    stream = [
        {"status": "The push refers to repository [127.0.0.1:5999/learinal-backend]"},
        {"status": "Preparing", "progressDetail": {}, "id": "aaa"},
        {"status": "Pushing", "progressDetail": {"current": 1, "total": 2}, "id": "aaa"},
        {"status": "Pushed", "progressDetail": {}, "id": "aaa"},
        {"status": f"main-1a2b3c4: digest: {DIGEST} size: 1566"},
        {"progressDetail": {}, "aux": {"Tag": "main-1a2b3c4", "Digest": DIGEST, "Size": 1566}},
    ]
    assert pusher.follow_push(iter(stream), "127.0.0.1:5999", "push") == DIGEST


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("unauthorized: authentication required", pusher.AuthenticationError),
        ("denied: requested access to the resource is denied", pusher.AuthenticationError),
        (
            "Get http://r/v2/: received unexpected HTTP status: 401 Unauthorized",
            pusher.AuthenticationError,
        ),
        ("read tcp 127.0.0.1:5401->x: read: connection reset by peer", pusher.TransientError),
        ("dial tcp 127.0.0.1:5401: connect: connection refused", pusher.TransientError),
        ("received unexpected HTTP status: 503 Service Unavailable", pusher.TransientError),
        ("blob upload unknown", ShipwrightError),
    ],
)
def test_classify(message, kind):
    assert type(pusher.classify(message, "r:5000", "push")) is kind


def test_retries_are_bounded_with_backoff():
    sleeps, calls = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise pusher.TransientError("push to registry r failed: connection reset by peer")
        return DIGEST

    assert (
        pusher.with_retries(flaky, "push", attempts=3, backoff=0.5, sleep=sleeps.append) == DIGEST
    )
    assert sleeps == [0.5, 1.0]

    def down():
        raise pusher.TransientError("push to registry r failed: connection refused")

    with pytest.raises(ShipwrightError, match="gave up after 3 attempts") as caught:
        pusher.with_retries(down, "push", attempts=3, sleep=sleeps.append)
    assert caught.value.exit_code == ExitCode.FAILED


def test_authentication_failures_are_not_retried():
    calls = []

    def refused():
        calls.append(1)
        raise pusher.classify("unauthorized: incorrect username or password", "r:5000", "login")

    with pytest.raises(pusher.AuthenticationError, match="registry r:5000") as caught:
        pusher.with_retries(refused, "login", sleep=lambda s: None)
    assert len(calls) == 1 and caught.value.exit_code == ExitCode.FAILED


class FakeImages:
    def __init__(self, known):
        self.known = known  # reference -> id

    def get(self, reference):
        import docker

        if reference in self.known:
            return type("Image", (), {"id": self.known[reference]})()
        if reference in self.known.values():
            return type("Image", (), {"id": reference})()
        raise docker.errors.ImageNotFound(reference)


class FakeClient:
    """Just enough of docker.DockerClient for push_image: one flaky push, then success."""

    def __init__(self, known, failures=1):
        self.images = FakeImages(known)
        self.api = self
        self.failures, self.pushes, self.tags = failures, [], []

    def tag(self, image, repository, tag, force=False):
        self.tags.append(f"{repository}:{tag}")
        self.images.known[f"{repository}:{tag}"] = image
        return True

    def push(self, repository, tag, stream, decode, auth_config):
        self.pushes.append(tag)
        if self.failures:
            self.failures -= 1
            return iter([{"error": "read tcp 127.0.0.1:1->127.0.0.1:2: connection reset by peer"}])
        return iter([{"status": f"{tag}: digest: {DIGEST} size: 1"}])


def test_push_retries_a_reset_connection_and_records_the_digest(tmp_path):
    image_id = "sha256:" + "1" * 64
    built = records.ImageRecord(
        "main-1a2b3c4",
        "old.example/app",
        ["main-1a2b3c4", "latest"],
        SHA,
        "main",
        "2024-12-01T00:00:00Z",
        image_id=image_id,
    )
    records.save(built, tmp_path)
    client = FakeClient(
        {"old.example/app:main-1a2b3c4": image_id, f"{REPO}:latest": "sha256:" + "2" * 64}
    )  # latest moved on since
    sleeps = []
    record = pusher.push_image(
        settings(),
        Runner(echo=False),
        version="main-1a2b3c4",
        root=tmp_path,
        client=client,
        sleep=sleeps.append,
    )
    # retagged into the configured repository; the stale latest pointed back at this image
    assert client.tags == [f"{REPO}:main-1a2b3c4", f"{REPO}:latest"]
    assert client.pushes == ["main-1a2b3c4", "main-1a2b3c4", "latest"] and sleeps == [1.0]
    saved = records.resolve("main-1a2b3c4", tmp_path)
    assert saved.reference == f"{REPO}:main-1a2b3c4@{DIGEST}" == record.reference
    assert saved.registries == ["127.0.0.1:5999"]


def test_push_of_an_image_that_is_not_built_says_so(tmp_path):
    client = FakeClient({})
    with pytest.raises(ConfigError, match="not built on this engine") as caught:
        pusher.push_image(
            settings(), Runner(echo=False), git=GitInfo("main", SHA), root=tmp_path, client=client
        )
    assert caught.value.exit_code == ExitCode.BAD_INPUT and client.pushes == []
