"""The optional dependencies: each maps to the extra pyproject.toml installs it with, and a
task that lacks one ends with that extra's name (exit 2), never a traceback."""

from __future__ import annotations

import re
import tomllib

import pytest
from helpers import ROOT

from shipwright.cli import reports_errors
from shipwright.extras import EXTRA_OF, missing_extra

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
CORE = PYPROJECT["project"]["dependencies"]


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_each_optional_module_is_in_the_extra_it_names_and_not_in_the_core():
    # boto3 brings botocore and pymongo brings bson: those import names ride with them
    distribution = {
        "botocore": "boto3",
        "bson": "pymongo",
        "kubernetes_validate": "kubernetes-validate",
    }
    for module, extra in EXTRA_OF.items():
        dist = distribution.get(module, module)
        assert dist in names(EXTRAS[extra]), (module, extra)
        assert dist not in names(CORE), module


def test_all_gathers_every_concern_and_test_pulls_all():
    assert EXTRAS["all"] == ["shipwright[aws,k8s,mongo]"]
    assert set(EXTRA_OF.values()) == {"aws", "k8s", "mongo"}
    assert "shipwright[all]" in EXTRAS["test"]


def test_a_missing_optional_module_becomes_one_line_and_exit_2():
    from invoke.exceptions import Exit

    @reports_errors
    def task():
        raise ModuleNotFoundError(
            "No module named 'kubernetes_validate'", name="kubernetes_validate"
        )

    with pytest.raises(Exit) as ended:
        task()
    assert ended.value.code == 2
    assert ended.value.message == (
        "✘ this task needs kubernetes_validate, which the core install leaves out: "
        "pip install 'shipwright[k8s]'"
    )


def test_any_other_missing_module_is_a_bug_and_still_raises():
    assert missing_extra(ModuleNotFoundError("x", name="nosuchthing")) is None

    @reports_errors
    def task():
        raise ModuleNotFoundError("No module named 'nosuchthing'", name="nosuchthing")

    with pytest.raises(ModuleNotFoundError):
        task()
