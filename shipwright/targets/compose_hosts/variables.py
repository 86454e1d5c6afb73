"""The Compose-hosts target's settings (group ``hosts``): which hosts, how to reach them,
how a release rolls over them."""

from __future__ import annotations

from shipwright.settings.var import PORT, Var, int_between, number

VARIABLES: tuple[Var, ...] = (
    Var("DEPLOY_HOSTS", "hosts", "Comma-separated SSH hosts (host or host:port)"),
    Var("SSH_USER", "hosts", "SSH user on the hosts", default="deploy"),
    Var("SSH_KEY_FILE", "hosts", "Private key file for the hosts"),
    Var(
        "SSH_HOST_KEY_CHECKING",
        "hosts",
        "strict: only known or pinned host keys; accept-new: trust a host seen for the "
        "first time (and remember it), refuse a changed key",
        default="strict",
        choices=("strict", "accept-new"),
    ),
    Var(
        "SSH_KNOWN_HOSTS",
        "hosts",
        "known_hosts file the hosts' keys are checked against (default ~/.ssh/known_hosts)",
    ),
    Var(
        "SSH_HOST_KEYS",
        "hosts",
        "Pinned host keys: known_hosts lines separated by ';' (only these are trusted)",
    ),
    Var(
        "DEPLOY_BATCH_SIZE",
        "hosts",
        "Hosts switched per batch",
        default="1",
        check=int_between(1, 1000),
    ),
    Var(
        "DEPLOY_PROXY_PORT",
        "hosts",
        "Port nginx serves the app on, per host",
        default="80",
        check=PORT,
    ),
    Var("DEPLOY_PULL_REGISTRY", "hosts", "Registry address the hosts pull from, when it differs"),
    Var("DEPLOY_HOST_ROOT", "hosts", "State folder on the hosts (nginx, env files, ledger)"),
    Var(
        "DEPLOY_DRAIN_SECONDS",
        "hosts",
        "Seconds the old container gets to drain",
        default="30",
        check=number,
    ),
    Var(
        "DEPLOY_KEEP_WARM",
        "hosts",
        "Seconds the colour that left traffic keeps running, so a rollback is an nginx "
        "switch (at least WATCH_SECONDS; 0 with WATCH_SECONDS=0: stop it at once)",
        default="1800",
        check=number,
    ),
    Var("DEPLOY_CONNECT_TIMEOUT", "hosts", "SSH connect timeout (s)", default="10", check=number),
    Var(
        "DEPLOY_COMMAND_TIMEOUT",
        "hosts",
        "Timeout of one remote command (s)",
        default="600",
        check=number,
    ),
)
