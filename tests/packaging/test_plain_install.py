"""``pip install shipwright`` with no extra, as a team vendoring the library does: the core
runs the pipeline and the Compose-hosts/local targets, and every task either works or
names the extra it needs (exit 2) -- never a traceback.

The package is installed (not editable) from a copy of this checkout into a fresh venv,
and the tasks run from a project folder without ``shipwright/`` beside them, so what runs
is the installed package with only its core dependencies.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest
from helpers import ROOT, CliResult

pytestmark = pytest.mark.integration

SKIP = shutil.ignore_patterns(
    ".git", ".venv", ".nox", ".shipwright", "node_modules", "__pycache__", "build", "*.egg-info"
)
#: Where each target's dry run ends with only the core installed.
NEEDS_EXTRA = {"ecs": "aws", "ecs-express": "aws", "apprunner": "aws", "k8s": "k8s"}
CORE_TARGETS = ("compose", "local")


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> tuple[Path, Path]:
    """(the venv's bin folder, a project folder) with the plain package installed."""
    work = tmp_path_factory.mktemp("plain")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=SKIP)
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    install = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", str(source)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    project = work / "project"
    shutil.copytree(source, project, ignore=shutil.ignore_patterns("shipwright", "tests"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for step in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "project"]):
        subprocess.run([*git, *step], cwd=project, check=True, capture_output=True)
    return bin_dir, project


def run(plain: tuple[Path, Path], *args: str, timeout: float = 300) -> CliResult:
    bin_dir, project = plain
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/root"),
        "SHIPWRIGHT_STATE_DIR": str(project / ".state"),
        "COLUMNS": "200",
    }
    proc = subprocess.run(
        [str(bin_dir / "invoke"), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def test_the_core_install_leaves_the_extras_out(plain):
    bin_dir, _ = plain
    code = (
        "import importlib.util as u; "
        "print([m for m in ('boto3', 'kubernetes', 'pymongo') if u.find_spec(m)])"
    )
    out = subprocess.run([str(bin_dir / "python"), "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_every_tasks_help_prints_without_a_traceback(plain):
    listed = run(plain, "--list", "--list-format", "json")
    assert listed.code == 0, listed.output
    names = task_names(json.loads(listed.stdout))
    assert {"deploy", "k8s.validate", "migrate.up", "ecs.render"} <= set(names)
    for name in names:
        helped = run(plain, name, "--help")
        assert helped.code == 0 and "Traceback" not in helped.output, (name, helped.output)


def task_names(collection: dict, prefix: str = "") -> list[str]:
    """Every task's dotted name in Invoke's ``--list-format json``."""
    found = [prefix + task["name"] for task in collection["tasks"]]
    for sub in collection["collections"]:
        found += task_names(sub, f"{prefix}{sub['name']}.")
    return found


def test_k8s_validate_names_the_extra(plain):
    result = run(plain, "k8s.validate", "--env", "test")
    assert result.code == 2, result.output
    assert "shipwright[k8s]" in result.stderr and "Traceback" not in result.output


def test_audit_runs_on_the_core_install(plain):
    result = run(plain, "audit", timeout=600)
    assert "Traceback" not in result.output, result.output
    assert "pip-audit" in result.output  # ran, or said it could not audit: never silent


@pytest.mark.parametrize("target", [*NEEDS_EXTRA, *CORE_TARGETS])
def test_one_dry_run_per_target(plain, target):
    result = run(
        plain,
        "deploy",
        "--env",
        "test",
        "--dry-run",
        "--set",
        f"DEPLOY_TARGET={target}",
        "--set",
        "DEPLOY_HOSTS=127.0.0.1:1",  # loopback, nothing listens: the hosts do not answer
    )
    assert "Traceback" not in result.output, result.output
    if target in NEEDS_EXTRA:
        assert result.code == 2, result.output
        assert f"shipwright[{NEEDS_EXTRA[target]}]" in result.stderr
    else:
        assert result.code in (1, 2) and result.stderr.strip().startswith(("✘", "–")), result.output
