"""The branch strategy decides where a pipeline run deploys."""

import pytest

from shipwright.pipeline import deploy_environment


@pytest.mark.parametrize(
    ("branch", "expected"),
    [
        ("develop", "staging"),
        ("main", "production"),
        ("refs/heads/main", "production"),
        ("feature/login", None),
        ("hotfix/x", None),
    ],
)
def test_in_ci_the_branch_decides(branch, expected):
    assert deploy_environment({"CI": "true"}, branch) == expected


def test_on_a_laptop_the_local_default():
    assert deploy_environment({}, "feature/login") == "development"
