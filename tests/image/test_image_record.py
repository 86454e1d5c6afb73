"""The record of builds and pushes, and resolving a version to a pinned reference."""

from __future__ import annotations

import json

import pytest

from shipwright.errors import ConfigError, ExitCode
from shipwright.image import record as records
from shipwright.image.record import ImageRecord

pytestmark = pytest.mark.usefixtures("own_state")

DIGEST = "sha256:" + "ab" * 32


def make(version, *, digest="", created="2024-12-01T10:00:00Z", pushed="", branch="develop"):
    return ImageRecord(
        version=version,
        repository="127.0.0.1:5000/learinal-backend",
        tags=[version],
        git_sha="1a2b3c4d" * 5,
        branch=branch,
        created=created,
        digest=digest,
        pushed=pushed,
    )


def test_save_and_load_round_trip(tmp_path):
    path = records.save(make("develop-1a2b3c4", digest=DIGEST), tmp_path)
    assert path == tmp_path / ".shipwright" / "images" / "develop-1a2b3c4.json"
    data = json.loads(path.read_text())
    assert data["reference"] == f"127.0.0.1:5000/learinal-backend:develop-1a2b3c4@{DIGEST}"
    assert records.load("develop-1a2b3c4", tmp_path) == make("develop-1a2b3c4", digest=DIGEST)
    assert list(path.parent.glob("*.tmp")) == []  # atomic write left nothing behind


def test_reference_is_pinned_only_once_pushed():
    assert make("v-1").reference == "127.0.0.1:5000/learinal-backend:v-1"
    assert make("v-1", digest=DIGEST).reference.endswith(f":v-1@{DIGEST}")


def test_resolve_returns_the_pushed_digest(tmp_path):
    records.save(make("main-1a2b3c4", digest=DIGEST, pushed="2024-12-02T00:00:00Z"), tmp_path)
    found = records.resolve("main-1a2b3c4", tmp_path)
    assert found.digest == DIGEST
    assert found.reference.endswith(f"main-1a2b3c4@{DIGEST}")


def test_resolve_unknown_version_lists_a_few_known_ones(tmp_path):
    for day in range(1, 9):
        records.save(
            make(f"develop-{day:07d}", digest=DIGEST, pushed=f"2024-12-0{day}T00:00:00Z"), tmp_path
        )
    records.save(make("never-pushed"), tmp_path)
    with pytest.raises(ConfigError) as caught:
        records.resolve("develop-9999999", tmp_path)
    message = str(caught.value)
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    assert message.startswith("version develop-9999999 does not exist")
    # newest first, five shown, the rest counted; unpushed versions cannot be deployed
    assert "develop-0000008, develop-0000007, develop-0000006" in message
    assert "develop-0000003" not in message and "and 3 more" in message
    assert "never-pushed" not in message


def test_resolve_with_no_records_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="none recorded yet"):
        records.resolve("main-1a2b3c4", tmp_path)


def test_resolve_a_built_but_unpushed_version(tmp_path):
    records.save(make("develop-1a2b3c4"), tmp_path)
    with pytest.raises(ConfigError, match="never pushed"):
        records.resolve("develop-1a2b3c4", tmp_path)
    assert records.resolve("develop-1a2b3c4", tmp_path, pushed=False).digest == ""


@pytest.mark.parametrize("version", ["../../etc/passwd", "a/b", "", ".hidden", "x" * 129])
def test_versions_cannot_escape_the_records_folder(tmp_path, version):
    with pytest.raises(ConfigError, match="not a valid version"):
        records.resolve(version, tmp_path)


def test_a_damaged_record_does_not_hide_the_others(tmp_path):
    records.save(make("develop-1a2b3c4", digest=DIGEST), tmp_path)
    (records.records_dir(tmp_path) / "broken.json").write_text("{not json")
    assert [r.version for r in records.known(tmp_path)] == ["develop-1a2b3c4"]


def test_latest_for_branch(tmp_path):
    records.save(make("develop-0000001", created="2024-12-01T00:00:00Z"), tmp_path)
    records.save(make("develop-0000002", created="2024-12-02T00:00:00Z"), tmp_path)
    records.save(make("main-0000003", created="2024-12-03T00:00:00Z", branch="main"), tmp_path)
    assert records.latest_for_branch("develop", tmp_path).version == "develop-0000002"
    assert records.latest_for_branch("nope", tmp_path) is None
