"""Which SSH host keys a connection trusts: never any key it is shown.

Why: the app's secrets travel to the hosts over these connections, so a host that
answers with an unknown or changed key may be a man in the middle. Three ways, per
environment, the same as OpenSSH's:

- ``strict`` (default, ``StrictHostKeyChecking=yes``): only keys in SSH_KNOWN_HOSTS
  (default ``~/.ssh/known_hosts``), or the keys pinned in SSH_HOST_KEYS;
- ``accept-new`` (``StrictHostKeyChecking=accept-new``): a host seen for the first time
  is trusted and its key written to SSH_KNOWN_HOSTS; a changed key is still refused;
- pinned: SSH_HOST_KEYS holds known_hosts lines (``host key-type base64``, ``;`` between
  them) and only those keys are trusted, whatever any file says.

An unknown or changed key is a ConfigError naming the host and what to do; nothing has
been sent to that host.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shipwright.errors import ConfigError

CHECKING = ("strict", "accept-new")
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"


class HostKeyError(ConfigError):
    """The host's key is not one this environment trusts: nothing was sent to it."""


def pinned_lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").replace("\n", ";").split(";") if line.strip()]


def trust(client: Any, *, checking: str, known_hosts: str | None, pinned: str | None) -> None:
    """Set up ``client`` (a paramiko SSHClient) to trust only what the settings say."""
    from paramiko import AutoAddPolicy, RejectPolicy
    from paramiko.hostkeys import HostKeyEntry

    if checking not in CHECKING:
        raise ConfigError(f"SSH_HOST_KEY_CHECKING must be one of {', '.join(CHECKING)}")
    lines = pinned_lines(pinned)
    if lines:
        keys = client.get_host_keys()
        for line in lines:
            entry = HostKeyEntry.from_line(line)
            if entry is None or entry.key is None:
                raise ConfigError(f"SSH_HOST_KEYS: {line[:40]!r}… is not a known_hosts line")
            for name in entry.hostnames:
                keys.add(name, entry.key.get_name(), entry.key)
        client.set_missing_host_key_policy(RejectPolicy())
        return
    path = Path(os.path.expanduser(known_hosts or DEFAULT_KNOWN_HOSTS))
    if checking == "accept-new":
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        client.load_host_keys(str(path))  # AutoAddPolicy saves new keys back to it
        client.set_missing_host_key_policy(AutoAddPolicy())
        return
    if path.is_file():
        client.load_host_keys(str(path))
    client.set_missing_host_key_policy(RejectPolicy())


def explain(exc: BaseException, host: str, known_hosts: str | None) -> HostKeyError | None:
    """The HostKeyError for a rejected key, None when ``exc`` is about something else."""
    from paramiko import BadHostKeyException, SSHException

    where = known_hosts or DEFAULT_KNOWN_HOSTS
    if isinstance(exc, BadHostKeyException):
        return HostKeyError(
            f"the SSH host key of {host} has CHANGED (it is not the one in {where} or "
            "SSH_HOST_KEYS): someone may be in the middle. Nothing was sent to it; if the "
            "host was rebuilt, verify its new key and replace the old one"
        )
    if isinstance(exc, SSHException) and "not found in known_hosts" in str(exc):
        return HostKeyError(
            f"the SSH host key of {host} is unknown (not in {where} nor SSH_HOST_KEYS). "
            "Nothing was sent to it. Verify the key and add it (ssh-keyscan, compare the "
            "fingerprint), pin it in SSH_HOST_KEYS, or set SSH_HOST_KEY_CHECKING=accept-new "
            "to trust hosts seen for the first time"
        )
    return None
