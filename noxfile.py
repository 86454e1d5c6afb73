"""The CI pipeline as nox sessions: one session per stage of the specification.

A bare ``nox`` runs only the checks (lint, test, audit); anything that builds,
pushes or deploys is ``default=False`` and runs only when named (``nox -s ci``).
Each session calls the same Invoke tasks a developer runs by hand.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False


def install(session: nox.Session) -> None:
    """The project and its tools, into the session's virtualenv."""
    session.install("-e", ".[test]")


def invoke(session: nox.Session, *args: str) -> None:
    session.run("invoke", *args, external=False)


@nox.session
def lint(session: nox.Session) -> None:
    """Stage 1: ESLint + Prettier for the app, ruff for this project."""
    install(session)
    invoke(session, "lint")


@nox.session
def test(session: nox.Session) -> None:
    """Stage 2: the app's unit and integration tests with coverage (real Redis)."""
    install(session)
    invoke(session, "test")


@nox.session
def audit(session: nox.Session) -> None:
    """Stage 3: npm audit, pip-audit, Snyk when SNYK_TOKEN is set; critical fails."""
    install(session)
    invoke(session, "audit")


@nox.session(default=False, requires=["lint", "test", "audit"])
def ci(session: nox.Session) -> None:
    """The whole pipeline for this branch: lint -> test -> audit (then image and deploy)."""
    session.log("CI stages passed: lint, test, audit")
