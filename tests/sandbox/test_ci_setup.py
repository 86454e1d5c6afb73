""".ci/setup never trusts a stale or half-made mongoeco venv: it proves the server answers a
ping and rebuilds the venv when it does not (the suite once passed only because pymongo had
been installed into that venv by hand)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from helpers import ROOT

pytestmark = pytest.mark.integration

REQUIREMENTS = ROOT / ".ci" / "mongoeco.txt"


def setup(venv: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SHIPWRIGHT_MONGOECO_VENV": str(venv)}
    return subprocess.run(
        ["bash", str(ROOT / ".ci" / "setup")], env=env, capture_output=True, text=True, timeout=900
    )


def imports(venv: Path, *modules: str) -> bool:
    code = "; ".join(f"import {m}" for m in modules)
    return subprocess.run([str(venv / "bin" / "python"), "-c", code]).returncode == 0


def python313() -> str:
    found = subprocess.run(
        ["bash", "-c", 'ls -d "$(pyenv root)"/versions/3.1[3-9]*/bin/python3 | head -1'],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert found, "no Python >= 3.13 under pyenv"
    return found


def test_a_venv_with_mongoeco_but_no_pymongo_is_rebuilt(tmp_path):
    venv = tmp_path / "mongoeco"
    subprocess.run([python313(), "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "mongoeco>=4.11,<5"],
        check=True,
        capture_output=True,
    )
    assert not imports(venv, "pymongo")
    # stamped as if built from today's requirements: only the proof can tell it is broken
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    (venv / ".shipwright-requirements").write_text(f"{digest}  .ci/mongoeco.txt\n")
    done = setup(venv)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mongoeco: FAILED" in done.stderr and "rebuilding the mongoeco venv" in done.stdout
    assert imports(venv, "mongoeco", "pymongo", "bson")


def test_a_half_made_venv_is_rebuilt(tmp_path):
    venv = tmp_path / "mongoeco"
    (venv / "bin").mkdir(parents=True)  # an interrupted build: no python, no stamp
    done = setup(venv)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"mongoeco venv in {venv}" in done.stdout
    assert imports(venv, "mongoeco", "pymongo", "bson")
