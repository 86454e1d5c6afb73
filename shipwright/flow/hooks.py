"""Steps an environment adds to the one deploy flow without the flow knowing what they
are (database migrations first): gates in the preflight, lines in the dry-run plan, and
work after the lock is taken and before any traffic moves.

Why a hook and not code in the flow: the flow stays the same for every target and every
environment; an environment that configures migrations gets them, one that does not
gets none. :data:`HOOKS` is the only list of them; each factory returns None when its
environment does not use it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from shipwright.settings import Settings

if TYPE_CHECKING:
    from shipwright.domain import Check, Release


class Hook(Protocol):
    #: What it is, for messages ("database migrations").
    name: str

    def gates(self, dep: Any, release: Release) -> Sequence[Check]:
        """Extra preflight gates of a deploy (read-only)."""
        ...

    def plan(self, dep: Any, release: Release, action: str, force: bool) -> Sequence[str]:
        """What :meth:`before_move` would do (read-only, for --dry-run); raises what it
        would raise to refuse."""
        ...

    def before_move(self, dep: Any, release: Release, action: str, force: bool) -> Sequence[str]:
        """After the lock, before traffic moves: do the work and return notes for the
        ledger. A ConfigError refuses (nothing ran); any other ShipwrightError stops the
        run with nothing moved -- the hook has undone its own work and says how."""
        ...


def _migrations(settings: Settings) -> Hook | None:
    from shipwright.migrate.hook import hook_for  # pymongo only when it is needed

    return hook_for(settings)


#: Each factory takes the settings and returns a Hook, or None when unused there.
HOOKS: tuple[Callable[[Settings], Hook | None], ...] = (_migrations,)


def hooks_for(settings: Settings) -> list[Hook]:
    """The hooks ``settings``' environment uses."""
    return [hook for factory in HOOKS if (hook := factory(settings)) is not None]
