"""SSH host keys are checked against known_hosts, pinned keys or accept-new -- against a
real sshd (loopback mode of the sandbox: no namespaces needed, the same host key
handling). An unknown or changed key is a clear error naming the host, exit 2, and
nothing was sent to the host."""

from __future__ import annotations

import subprocess

import pytest
from helpers import invoke, require
from support.fleet import APP_NAME, missing_components

from shipwright.settings import load_settings
from shipwright.targets.compose_hosts.hostkeys import HostKeyError
from shipwright.targets.compose_hosts.target import ComposeHostsTarget

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hosts():
    from support.sandbox import SshHosts

    require("sshd" not in " ".join(missing_components()), "sshd is not installed")
    with SshHosts(1, isolated=False) as started:
        yield started


def sets(hosts, **extra: str) -> dict[str, str]:
    host = hosts.hosts[0]
    return {
        "DEPLOY_HOSTS": f"{host.address}:{host.port}",
        "SSH_USER": hosts.user,
        "SSH_KEY_FILE": hosts.key_file,
        "APP_NAME": APP_NAME,
        "MONGO_URI": "",
        "REDIS_URI": "",
        **extra,
    }


def answer(hosts, **extra: str) -> str:
    """``echo`` on the host through the target's own connection."""
    target = ComposeHostsTarget(load_settings("test", overrides=sets(hosts, **extra), environ={}))
    try:
        return target.hosts[0].read("echo answered").stdout.strip()
    finally:
        target.close()


def other_key(tmp_path) -> str:
    path = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


def test_a_known_host_key_connects(hosts):
    assert answer(hosts, SSH_KNOWN_HOSTS=hosts.known_hosts) == "answered"


def test_an_unknown_host_key_is_refused_naming_the_host(hosts, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(HostKeyError, match=rf"{hosts.hosts[0].address}.*is unknown"):
        answer(hosts, SSH_KNOWN_HOSTS=str(empty))


def test_a_changed_host_key_is_refused(hosts, tmp_path):
    host = hosts.hosts[0]
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"[{host.address}]:{host.port} {other_key(tmp_path)}\n")
    with pytest.raises(HostKeyError, match="CHANGED"):
        answer(hosts, SSH_KNOWN_HOSTS=str(wrong))


def test_accept_new_remembers_a_new_host_and_still_refuses_a_changed_key(hosts, tmp_path):
    file = tmp_path / "known_hosts"
    assert answer(hosts, SSH_KNOWN_HOSTS=str(file), SSH_HOST_KEY_CHECKING="accept-new")
    remembered = file.read_text()
    assert hosts.hosts[0].address in remembered
    assert open(hosts.known_hosts).read().split()[-1] in remembered  # the real key
    host = hosts.hosts[0]
    file.write_text(f"[{host.address}]:{host.port} {other_key(tmp_path)}\n")
    with pytest.raises(HostKeyError, match="CHANGED"):
        answer(hosts, SSH_KNOWN_HOSTS=str(file), SSH_HOST_KEY_CHECKING="accept-new")


def test_pinned_keys_are_the_only_ones_trusted(hosts, tmp_path):
    host = hosts.hosts[0]
    real = open(hosts.known_hosts).read().strip()
    assert answer(hosts, SSH_HOST_KEYS=real) == "answered"
    pinned_wrong = f"[{host.address}]:{host.port} {other_key(tmp_path)}"
    with pytest.raises(HostKeyError, match="CHANGED"):  # the good known_hosts is not read
        answer(hosts, SSH_HOST_KEYS=pinned_wrong, SSH_KNOWN_HOSTS=hosts.known_hosts)


def test_the_cli_refuses_an_unknown_host_before_anything_changes(hosts, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    image = "127.0.0.1:5000/swtest:v1@sha256:" + "a" * 64
    args = [
        a for k, v in sets(hosts, SSH_KNOWN_HOSTS=str(empty)).items() for a in ("--set", f"{k}={v}")
    ]
    result = invoke("deploy", "--env", "test", "--image", image, "--no-gates", *args)
    assert result.code == 2, result.output
    assert "is unknown" in result.stderr and hosts.hosts[0].address in result.stderr
    # Nothing was sent: the host has no state folder for the app, no lock, no ledger.
    target = ComposeHostsTarget(
        load_settings("test", overrides=sets(hosts, SSH_KNOWN_HOSTS=hosts.known_hosts), environ={})
    )
    try:
        state = target.hosts[0].read(f"ls {target.hosts[0].layout.base} 2>&1 || true").stdout
    finally:
        target.close()
    assert "locks" not in state and "ledger" not in state
