"""The optional dependencies, each by the extra that installs it.

The core install (``pip install shipwright``) runs the pipeline and the Compose-hosts and
local targets; AWS, Kubernetes and MongoDB need ``shipwright[aws]``, ``[k8s]``, ``[mongo]``
(or ``[all]``). A task that reaches for one that is missing ends with one line naming the
extra (exit 2), never a traceback: :func:`missing_extra` turns the import error into that.
"""

from __future__ import annotations

from shipwright.errors import ConfigError

#: Top-level import name -> the extra that installs it (pyproject.toml's optional-dependencies).
EXTRA_OF = {
    "boto3": "aws",
    "botocore": "aws",
    "kubernetes": "k8s",
    "kubernetes_validate": "k8s",
    "pymongo": "mongo",
    "bson": "mongo",
}


def missing_extra(exc: ModuleNotFoundError) -> ConfigError | None:
    """The message for an optional dependency that is not installed; None for any other
    missing module (a real bug, left to raise)."""
    module = (exc.name or "").split(".")[0]
    extra = EXTRA_OF.get(module)
    if extra is None:
        return None
    return ConfigError(
        f"this task needs {module}, which the core install leaves out: "
        f"pip install 'shipwright[{extra}]'"
    )
