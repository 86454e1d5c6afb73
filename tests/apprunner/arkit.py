"""Running the one flow against a Stubber-answered target: a clock that moves only when
the code under test sleeps, and ``invoke deploy``/``rollback``'s code with its exit code
and the ledger's newest entry."""

from __future__ import annotations

from support.faketime import FakeTime

from shipwright.aws.clients import AwsClients
from shipwright.errors import ShipwrightError
from shipwright.flow import commands
from shipwright.flow.session import opened
from shipwright.runner import Runner


def target_for(cls, settings, service: str, client, time_: FakeTime | None = None):
    """``cls`` (a target class) with ``client`` answering ``service``; the rest real."""
    time_ = time_ or FakeTime()
    clients = AwsClients(settings, clients={service: client})
    return cls(settings, Runner(echo=False), clients=clients, clock=time_.clock, sleep=time_.sleep)


def exit_code(call, *args, **kwargs) -> tuple[int, str]:
    try:
        call(*args, **kwargs)
    except ShipwrightError as exc:
        return int(exc.exit_code), str(exc)
    return 0, ""


def deploy(settings, target, release) -> tuple[int, str]:
    return exit_code(
        commands.deploy,
        settings,
        Runner(echo=False),
        release=release,
        gates=False,
        watch=False,
        target=target,
    )


def rollback(settings, target) -> tuple[int, str]:
    return exit_code(commands.rollback, settings, Runner(echo=False), target=target)


def newest(settings):
    with opened(settings, Runner(echo=False), staging=False) as dep:
        found = dep.ledger.history(limit=1)
    return found[0] if found else None


def record_good(settings, release) -> None:
    """A ledger in which ``release`` once served (what a rollback returns to)."""
    with opened(settings, Runner(echo=False), staging=False) as dep:
        dep.ledger.record("deploy", release, "succeeded")
