"""`npm ci` runs once per project however many tasks ask at the same moment: it deletes
node_modules first, and a second run beside it left a test worker (and would leave a
parallel nox session) reading a half-installed tree."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from shipwright.stages import node


class SlowInstall:
    """Stands in for the runner: an install that takes a while, then writes npm's marker."""

    def __init__(self, app_dir: Path):
        self.app_dir, self.installs = app_dir, 0

    def local(self, argv, **_):
        self.installs += 1
        time.sleep(0.3)
        marker = self.app_dir / "node_modules" / ".package-lock.json"
        marker.parent.mkdir(exist_ok=True)
        marker.write_text("{}")


def test_two_tasks_at_once_install_once(tmp_path):
    (tmp_path / "package-lock.json").write_text("{}")
    runner = SlowInstall(tmp_path)
    tasks = [
        threading.Thread(target=node.ensure_dependencies, args=(runner, tmp_path)) for _ in range(3)
    ]
    for task in tasks:
        task.start()
    for task in tasks:
        task.join()
    assert runner.installs == 1


def test_a_lockfile_newer_than_the_install_installs_again(tmp_path):
    runner = SlowInstall(tmp_path)
    (tmp_path / "package-lock.json").write_text("{}")
    node.ensure_dependencies(runner, tmp_path)
    node.ensure_dependencies(runner, tmp_path)
    assert runner.installs == 1
    time.sleep(0.01)
    (tmp_path / "package-lock.json").write_text('{"changed": true}')
    node.ensure_dependencies(runner, tmp_path)
    assert runner.installs == 2
