"""The lock and the ledger kept as files on the hosts themselves (no extra service).

Why on the hosts: no extra service to run, and whoever can deploy can read them. The
lock is a file created with noclobber (O_EXCL) on the first host that answers. Ledger
entries are JSON lines appended on every reachable host and read merged (by entry id)
from all of them; a host that missed entries -- down during a deploy, or rebuilt -- is
given them back the next time the ledger is read, so any one host can answer "what was
deployed".
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from shipwright.errors import CommandError, ShipwrightError
from shipwright.ledger import parse_lines
from shipwright.lock import LockInfo
from shipwright.output import say
from shipwright.targets.compose_hosts import commands as cmd
from shipwright.targets.compose_hosts.hosts import Host, on_each


def unreachable(exc: CommandError) -> bool:
    """Connection-level failures (no exit code) as opposed to a command that failed."""
    return exc.code == -1


class _OnHosts:
    def __init__(self, hosts: list[Host]):
        self.hosts = hosts

    def _first(self, action: str, command: Callable[[Host], str], read: bool = False):
        """``command`` on the first host that answers: (host, its output); says which
        hosts did not answer."""
        for host in self.hosts:
            try:
                run = host.read if read else functools.partial(host.run, quiet=True)
                return host, run(command(host)).stdout
            except CommandError as exc:
                if not unreachable(exc):
                    raise
                say(f"– {host.name}: unreachable, skipped for {action}")
        raise ShipwrightError(
            f"no host answers ({action}): {', '.join(h.name for h in self.hosts)}"
        )


class HostLockStore(_OnHosts):
    """The lock file lives on the first host that answers (the configured order makes
    that the same host for everyone), so a host that dies mid-rollout cannot strand a
    copy of it; a lock break clears every host. ``on_taken`` is called once the lock is
    ours (the target then forgets what it read of the hosts before)."""

    def __init__(self, hosts: list[Host], on_taken: Callable[[], None] | None = None):
        super().__init__(hosts)
        self._taken_on: Host | None = None
        self._on_taken = on_taken or (lambda: None)

    def create(self, info: LockInfo) -> LockInfo | None:
        data = json.dumps(info.to_dict(), sort_keys=True)
        host, out = self._first(
            "the deploy lock", lambda h: cmd.lock_create(h.layout.lock(info.environment), data)
        )
        lines = out.strip().splitlines()
        if lines and lines[0] == "acquired":
            self._taken_on = host
            self._on_taken()
            return None
        return _parse_lock("\n".join(lines[1:]), info.environment)

    def read(self, environment: str) -> LockInfo | None:
        _, out = self._first(
            "reading the lock", lambda h: cmd.read_file(h.layout.lock(environment)), read=True
        )
        text = out.strip()
        return _parse_lock(text, environment) if text else None

    def delete(self, environment: str, token: str | None = None) -> None:
        if token is not None and self._taken_on is not None:
            host = self._taken_on
            try:
                host.run(cmd.lock_delete(host.layout.lock(environment), token), quiet=True)
            except CommandError as exc:
                raise ShipwrightError(
                    f"the deploy lock on {host.name} could not be released "
                    f"({str(exc).splitlines()[0]}); once {host.name} answers again, "
                    "release it with --break-lock"
                ) from None
            self._taken_on = None
            return
        results = on_each(
            self.hosts, lambda h: h.run(cmd.lock_delete(h.layout.lock(environment)), quiet=True)
        )
        failed = {n: r for n, r in results.items() if isinstance(r, Exception)}
        for name, exc in failed.items():
            say(f"✘ {name}: lock not removed: {str(exc).splitlines()[0]}")
        if len(failed) == len(results):
            raise ShipwrightError(
                f"no host answers (breaking the lock): {', '.join(h.name for h in self.hosts)}"
            )


def _parse_lock(text: str, environment: str) -> LockInfo:
    try:
        return LockInfo.from_dict(json.loads(text))
    except (ValueError, TypeError):
        return LockInfo(
            environment, holder="unknown", since="unknown", reason="unreadable lock file"
        )


class HostLedgerStore(_OnHosts):
    def load(self, environment: str) -> list[dict[str, Any]]:
        """Every reachable host's entries (read at once), merged by id, oldest first;
        hosts that lack some get them appended (not under --dry-run)."""
        texts = on_each(
            self.hosts, lambda h: h.read(cmd.read_file(h.layout.ledger(environment))).stdout
        )
        per_host: dict[str, tuple[Host, set[str]]] = {}
        merged: dict[str, dict[str, Any]] = {}
        for host in self.hosts:
            text = texts[host.name]
            if isinstance(text, Exception):
                if not (isinstance(text, CommandError) and unreachable(text)):
                    raise text
                say(f"– {host.name}: unreachable, its ledger copy skipped")
                continue
            entries = parse_lines(text)
            per_host[host.name] = (host, {str(e.get("id", "")) for e in entries})
            for entry in entries:
                merged.setdefault(str(entry.get("id", "")), entry)
        ordered = [merged[k] for k in sorted(merged)]
        if not per_host:
            raise ShipwrightError(
                f"no host answers (reading the ledger): {', '.join(h.name for h in self.hosts)}"
            )
        for host, have in per_host.values():
            missing = [e for e in ordered if str(e.get("id", "")) not in have]
            if missing:
                try:
                    self._write(host, environment, missing, "given back")
                except CommandError as exc:
                    say(f"– {host.name}: missing ledger entries not written: {exc.tail}")
        return ordered

    def append(self, environment: str, entry: dict[str, Any]) -> None:
        results = on_each(self.hosts, lambda h: self._write(h, environment, [entry], ""))
        failed = {name: r for name, r in results.items() if isinstance(r, Exception)}
        for name, exc in failed.items():
            say(f"✘ {name}: ledger entry not written: {str(exc).splitlines()[0]}")
        if len(failed) == len(results):
            raise ShipwrightError(f"the ledger entry was written on no host: {', '.join(failed)}")

    @staticmethod
    def _write(host: Host, environment: str, entries: list[dict[str, Any]], why: str) -> None:
        lines = [json.dumps(e, sort_keys=True, separators=(",", ":")) for e in entries]
        host.run(cmd.ledger_append(host.layout.ledger(environment), *lines), quiet=True)
        if why:
            say(f"– {host.name}: {len(lines)} ledger entr{'y' if len(lines) == 1 else 'ies'} {why}")
