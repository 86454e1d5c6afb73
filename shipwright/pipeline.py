"""Where this pipeline run deploys, from the branch strategy of the specification.

In CI: develop -> staging, main -> production, feature/* and others -> nowhere (CI
only). On a laptop (CI unset) the pipeline deploys to the local default, development
on the local engine. ``python -m shipwright.pipeline`` prints the answer for nox.
"""

from __future__ import annotations

import os

from shipwright.gates import environment_for_branch
from shipwright.gitinfo import branch

LOCAL_DEFAULT = "development"


def deploy_environment(environ: dict[str, str] | None = None, current_branch: str | None = None):
    environ = os.environ if environ is None else environ
    if environ.get("CI", "").lower() != "true":
        return LOCAL_DEFAULT
    return environment_for_branch(current_branch or branch())


if __name__ == "__main__":
    print(deploy_environment() or "")
