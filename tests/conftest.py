"""Suite-wide rules. pytest puts tests/ on sys.path (no __init__.py), so test modules
import ``helpers`` and ``support.sandbox``.

- The tool's state (CI and image records, env files, postmortems, local ledgers) goes
  to a folder of this run's own, never to the checkout's ``.shipwright/``: set here,
  before any test runs, for this process and every CLI it starts.
- With CI=true any test that skipped fails instead: CI provides every component the
  suite starts. Only tests of a real cloud service, cluster or server (marked
  ``real_service``) may still skip, with the reason printed (``-ra``).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

STATE = tempfile.mkdtemp(prefix="sw-test-state-")
os.environ["SHIPWRIGHT_STATE_DIR"] = STATE
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(STATE, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (IN_CI and report.skipped):
        return
    if item.get_closest_marker("real_service"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
    report.outcome = "failed"
    report.longrepr = f"CI must not skip this (only real_service tests may): {reason}"


@pytest.fixture
def own_state(tmp_path, monkeypatch):
    """This test's own state folder, ``tmp_path/.shipwright`` (the default layout under a
    project root of ``tmp_path``), for tests that pass ``root=tmp_path``."""
    monkeypatch.delenv("SHIPWRIGHT_STATE_DIR")
    return tmp_path / ".shipwright"
