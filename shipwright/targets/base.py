"""The contract every deploy target keeps in full. The deploy flow is written once
against it and uses nothing else of a target; targets never call each other.

Where a target keeps its ledger and its lock is its own choice (files on the hosts, a
file under the state directory, an S3 object, a Lease …): it hands the flow a
:class:`~shipwright.ledger.LedgerStore` and a :class:`~shipwright.lock.LockStore`,
and the flow builds the rules (last good release, refuse/wait/break) on top of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from shipwright.domain import Checks, Outcome, Plan, Release, Run, Status
from shipwright.ledger import LedgerStore
from shipwright.lock import LockStore


class Target(Protocol):
    #: The DEPLOY_TARGET value that selects it.
    name: str

    def plan(self, release: Release, action: str = "deploy") -> Plan:
        """What ``action`` (deploy or rollback) would do; reads state, changes nothing."""
        ...

    def deploy(self, release: Release) -> Outcome:
        """Roll ``release`` out, leaving the previous one able to return; a failure
        (Ctrl-C included) is undone as far as possible and returned, not raised."""
        ...

    def verify(self, release: Release) -> Checks:
        """The target's own checks that ``release`` is what serves, and healthy."""
        ...

    def rollback(self, to: Release) -> Outcome:
        """Make ``to`` serve again (it served before)."""
        ...

    def current(self) -> Release | None:
        """What serves now, read from the target itself (None: nothing)."""
        ...

    def status(self) -> Status: ...

    def app_url(self) -> str | None:
        """The URL the platform itself serves the app at (App Runner's default domain,
        an Express endpoint), used when APP_URL is not set; None when it has none."""
        ...

    def logs(self, follow: bool = False, since: str | None = None) -> None:
        """Print the app's logs from where it serves."""
        ...

    def run(
        self, release: Release, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> Run:
        """A one-off ``command`` in ``release``'s image on the target, with the app's
        variables (plus ``env``), waited for: its exit code and output."""
        ...

    def prune(self, needed: Iterable[str]) -> None:
        """Drop images/revisions the ledger no longer needs (``needed`` stay)."""
        ...

    def ledger_store(self) -> LedgerStore: ...

    def lock_store(self) -> LockStore: ...

    def connect(self) -> None:
        """Open connections and clients at once, up front (the flow times it as the
        ``connect`` phase); a target that connects on first use does nothing here."""
        ...

    def close(self) -> None:
        """Release connections and clients."""
        ...
