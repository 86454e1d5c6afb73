"""Manual approval before a deploy or rollback changes an environment.

The specification lets staging require manual approval and sends production out only
after manual review. In GitHub Actions the job's ``environment:`` protection rules are
that review (the workflow then passes ``--yes``); from a terminal the user types the
environment's name, as one does to delete a repository; a run with no terminal needs
``--yes``. Who approved, and how, is recorded in the ledger. DEPLOY_APPROVAL=required
or none decides per environment; unset, production requires it and nothing else does.
"""

from __future__ import annotations

from collections.abc import Callable

from shipwright.domain import who
from shipwright.errors import ConfigError, ExitCode, ShipwrightError
from shipwright.settings import Settings

VARIABLE = "DEPLOY_APPROVAL"


def required(settings: Settings) -> bool:
    value = settings.get(VARIABLE)
    return value == "required" if value else settings.environment == "production"


def approve(
    settings: Settings,
    what: str,
    *,
    yes: bool = False,
    ask: Callable[[str], str] | None = None,
) -> str:
    """Who approved ``what`` (e.g. "deploy v2"), "" when no approval is needed. Raises
    before anything changes when approval is needed and not given."""
    if not required(settings):
        return ""
    env = settings.environment
    if yes:
        return f"{who()} (--yes)"
    source = settings.sources.get(VARIABLE) or "the default for production"
    if ask is None:
        raise ConfigError(
            f"{what} to {env!r} needs approval ({VARIABLE}=required, {source}) and there is "
            "no terminal to ask: pass --yes (in CI, after the environment's protection rules)"
        )
    typed = ask(f"{what} to {env}: type the environment's name to approve: ").strip()
    if typed != env:
        raise ShipwrightError(
            f"not approved ({typed!r} is not {env!r}); nothing changed", ExitCode.FAILED
        )
    return f"{who()} (typed {env!r} at the prompt)"
