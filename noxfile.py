"""The CI pipeline as nox sessions: one session per stage of the specification.

A bare ``nox`` runs only the checks (lint, test, audit); anything that builds,
pushes or deploys is ``default=False`` and runs only when named. ``nox -s ci`` runs the
stages in order and then deploys where the branch strategy says: develop -> staging,
main -> production, feature/* -> nowhere; on a laptop (CI unset) to the local default,
development on the local Docker engine. Each session calls the same Invoke tasks a
developer runs by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import nox

#: uv makes and fills virtualenvs in seconds (from its cache); venv where uv is missing.
nox.options.default_venv_backend = "uv|venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False
nox.options.sessions = ["lint", "test", "audit"]
#: What the sessions install: changes to it (and only to it) need a new install.
DEPENDENCIES = Path(__file__).parent / "pyproject.toml"


def install(session: nox.Session) -> None:
    """The project and its tools, into the session's virtualenv -- only when
    pyproject.toml changed since that virtualenv's last install: the install is
    editable, so changes to the code need none."""
    stamp = Path(session.virtualenv.location) / ".shipwright-installed"
    wanted = hashlib.sha256(DEPENDENCIES.read_bytes()).hexdigest()
    if stamp.is_file() and stamp.read_text() == wanted:
        session.log("dependencies unchanged since the last install: nothing to install")
        return
    session.install("-e", ".[test]")
    stamp.write_text(wanted)


def invoke(session: nox.Session, *args: str) -> None:
    session.run("invoke", *args)


def approved() -> list[str]:
    """In GitHub Actions the job's environment protection rules were the approval."""
    return ["--yes"] if os.environ.get("GITHUB_ACTIONS") == "true" else []


def release(session: nox.Session, environment: str) -> None:
    """Image then deploy, for one environment; the local default prepares its engine."""
    if environment == "development":
        overrides = session.run("invoke", "local.prepare", "--json", silent=True, stderr=None)
        session.env.update(json.loads(overrides))
    invoke(session, "image.build", "--env", environment)
    invoke(session, "image.push", "--env", environment)
    invoke(session, "deploy", "--env", environment, *approved())


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


@nox.session(default=False)
def image(session: nox.Session) -> None:
    """Stage 4: build the multi-stage image and push it (nox -s image -- ENV)."""
    install(session)
    environment = session.posargs[0] if session.posargs else "development"
    invoke(session, "image.build", "--env", environment)
    invoke(session, "image.push", "--env", environment)


@nox.session(default=False)
def deploy_staging(session: nox.Session) -> None:
    """Stage 5: image, then a gated, watched deploy to staging (develop)."""
    install(session)
    release(session, "staging")


@nox.session(default=False)
def deploy_production(session: nox.Session) -> None:
    """Stage 6: image, then a gated, watched deploy to production (main)."""
    install(session)
    release(session, "production")


@nox.session(default=False)
def deploy_local(session: nox.Session) -> None:
    """The local default: image, then deploy to development on the local engine."""
    install(session)
    release(session, "development")


@nox.session(default=False, requires=["lint", "test", "audit"])
def ci(session: nox.Session) -> None:
    """The whole pipeline: lint -> test -> audit -> image -> deploy where the branch goes."""
    install(session)
    environment = session.run("python", "-m", "shipwright.pipeline", silent=True).strip()
    if not environment:
        session.log("CI only: this branch does not deploy (feature/* and others)")
        return
    release(session, environment)
