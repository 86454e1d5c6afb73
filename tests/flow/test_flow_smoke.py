"""The smoke suite file: the default one parses, bad ones say every problem at once."""

import json

import pytest

from shipwright.checks.smoke import load_suite, parse_suite
from shipwright.errors import ConfigError, ExitCode


def test_default_suite_covers_the_sample_app():
    cases = load_suite()
    paths = [c.path for c in cases]
    assert {"/health", "/version", "/api/items"} <= set(paths)
    assert all(c.method == "GET" for c in cases)  # read-only: it also runs in production


def test_json_suite_and_defaults(tmp_path):
    (tmp_path / "smoke.json").write_text(json.dumps({"cases": [{"path": "/x", "contains": "ok"}]}))
    (case,) = load_suite("smoke.json", root=tmp_path)
    assert (case.method, case.status, case.contains, case.title) == ("GET", 200, ("ok",), "GET /x")


def test_every_bad_case_is_reported():
    with pytest.raises(ConfigError) as err:
        parse_suite(
            {
                "cases": [
                    {"path": "no-slash"},
                    {"path": "/a", "method": "FETCH"},
                    {"path": "/b", "status": 42},
                    {"path": "/c", "expect": 200},
                    "just a string",
                ]
            }
        )
    message = str(err.value)
    assert err.value.exit_code == ExitCode.BAD_INPUT
    assert "5 invalid case(s)" in message
    for number in range(1, 6):
        assert f"case {number}:" in message
    assert "unknown key(s) expect" in message


def test_missing_or_empty_suite(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_suite(root=tmp_path)
    (tmp_path / "smoke.yml").write_text("cases: []\n")
    with pytest.raises(ConfigError, match="non-empty list"):
        load_suite(root=tmp_path)
