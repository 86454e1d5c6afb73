"""The one remote shell per host, against a real sshd (loopback; no engine needed): what a
command prints and exits with comes back intact, one command cannot disturb the next,
and a shell that dies or hangs is reported the way the rest of the target expects."""

from __future__ import annotations

import io

import pytest
from helpers import require

from shipwright.errors import CommandError
from shipwright.runner import Runner
from shipwright.targets.compose_hosts.config import ComposeConfig, HostAddress
from shipwright.targets.compose_hosts.hosts import Host
from shipwright.targets.compose_hosts.storage import unreachable

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sandbox():
    import shutil

    require(shutil.which("sshd") or shutil.which("sshd", path="/usr/sbin"), "sshd is missing")
    from support.sandbox import SshHosts

    with SshHosts(1, isolated=False) as hosts:
        yield hosts


@pytest.fixture
def host(sandbox):
    h = sandbox.hosts[0]
    config = ComposeConfig(
        "test",
        (HostAddress(h.address, h.port),),
        user=sandbox.user,
        key_file=sandbox.key_file,
        known_hosts=sandbox.known_hosts,
        connect_timeout=3,
    )
    host = Host(config.hosts[0], config, Runner(echo=False))
    yield host
    host.close()


def test_exit_codes_stdout_and_stderr_come_back_apart(host):
    result = host.run("echo out; echo err >&2; printf 'no newline'; exit 7", check=False)
    assert result.exit_code == 7
    assert result.stdout == "out\nno newline" and result.stderr == "err\n"
    assert host.run("true").stdout == ""  # the same shell answers the next command


def test_a_command_cannot_disturb_the_next(host):
    host.run("cd /; X=1; set -e; false", check=False)  # all inside its own subshell
    assert host.run("pwd; echo ${X:-unset}; false || echo went-on").stdout.split() == [
        host.run("cd; pwd").stdout.strip(),
        "unset",
        "went-on",
    ]
    assert host.run("cat; echo done", timeout=5).stdout == "done\n"  # stdin is /dev/null
    marker_like = host.run("echo '@@end-0000000000000000 0'; echo after").stdout
    assert marker_like == "@@end-0000000000000000 0\nafter\n"  # only its own token ends it


def test_output_streams_line_by_line_while_it_runs(host):
    sink = io.StringIO()
    host.runner.remote(host.shell, "echo one; sleep 0.2; echo two", quiet=False)
    answer = host.shell.run("echo a; echo b", out_stream=sink)
    assert sink.getvalue() == "a\nb\n" and answer.stdout == "a\nb\n"


def test_a_command_that_hangs_times_out_and_the_shell_comes_back(host):
    with pytest.raises(CommandError, match="timed out"):
        host.run("sleep 30", timeout=0.5)
    assert host.run("echo back").stdout == "back\n"


def test_a_dead_shell_is_unreachable_then_reopened(host):
    with pytest.raises(CommandError) as error:
        host.run("kill -9 $PPID; sleep 5")  # the subshell's parent: the remote shell
    assert unreachable(error.value)
    assert host.run("echo again").stdout == "again\n"
