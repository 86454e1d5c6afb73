"""Reading CloudWatch Logs like ``aws logs tail``: ``--since 10m`` (or 2h, 1d, 30s, an
ISO time), ``--follow`` until Ctrl-C, every page of ``filter_log_events``; and the last
lines of one stream (a stopped task's) for troubleshooting."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

from shipwright.aws.clients import AwsClients
from shipwright.aws.errors import aws_errors, code_of
from shipwright.errors import ConfigError
from shipwright.output import say
from shipwright.retry import poll

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DEFAULT_SINCE = "10m"


def since_ms(since: str | None, now: float | None = None) -> int:
    """Milliseconds since the epoch for ``10m``/``2h``/``1d``/``30s`` ago, or an ISO time."""
    text = (since or DEFAULT_SINCE).strip()
    now = time.time() if now is None else now
    match = re.fullmatch(r"(\d+)\s*([smhdw])", text)
    if match:
        return int((now - int(match.group(1)) * UNITS[match.group(2)]) * 1000)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--since {text!r}: expected a duration (30s, 10m, 2h, 1d) or an ISO time"
        ) from None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1000)


def line_of(event: dict) -> str:
    stamp = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).isoformat(timespec="seconds")
    stream = event.get("logStreamName", "")
    return f"{stamp} {stream.rsplit('/', 1)[-1][:12]} {event['message'].rstrip()}"


class LogReader:
    """The events of one log group (optionally streams under a prefix), printed once each."""

    def __init__(
        self,
        clients: AwsClients,
        group: str,
        *,
        stream_prefix: str | None = None,
        setting: str = "ECS_LOG_GROUP",
        out: Callable[[str], None] = say,
    ):
        self.clients, self.group, self.stream_prefix = clients, group, stream_prefix
        self.setting, self.out = setting, out
        self._seen: set[str] = set()
        self._start = 0

    def read(self, start_ms: int | None = None) -> int:
        """Print the events since ``start_ms`` (or since the last read); how many."""
        from botocore.exceptions import ClientError

        self._start = start_ms if start_ms is not None else self._start
        kwargs = {"logGroupName": self.group, "startTime": self._start}
        if self.stream_prefix:
            kwargs["logStreamNamePrefix"] = self.stream_prefix
        printed = 0
        doing = f"reading the log group {self.group}"
        with aws_errors(self.clients.settings, doing):
            try:
                pages = self.clients("logs").get_paginator("filter_log_events").paginate(**kwargs)
                for page in pages:
                    for event in page.get("events", []):
                        if event["eventId"] in self._seen:
                            continue
                        self._seen.add(event["eventId"])
                        self._start = max(self._start, event["timestamp"])
                        self.out(line_of(event))
                        printed += 1
            except ClientError as exc:
                if code_of(exc) != "ResourceNotFoundException":
                    raise
                raise ConfigError(
                    f"the log group {self.group} does not exist (set {self.setting} to the "
                    "awslogs-group of the task definition)"
                ) from None
        return printed

    def tail(self, since: str | None = None, follow: bool = False, interval: float = 2.0) -> int:
        """``aws logs tail GROUP [--since] [--follow]``; follow runs until Ctrl-C."""
        return tail_all([self], since, follow, interval)


def tail_all(
    readers: list[LogReader], since: str | None = None, follow: bool = False, interval: float = 2.0
) -> int:
    """``aws logs tail`` over several groups at once (App Runner's application and
    service logs); how many events the first read printed."""
    start = since_ms(since)
    printed = sum(reader.read(start) for reader in readers)
    if not follow:
        return printed
    try:
        poll(
            lambda: sum(reader.read() for reader in readers),
            timeout=float("inf"),
            done=lambda _: False,
            interval=interval,
        )
    except KeyboardInterrupt:
        pass
    return printed


def last_lines(clients: AwsClients, group: str, stream: str, count: int = 20) -> list[str]:
    """The last ``count`` lines of one stream; [] when it does not exist (yet)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        events = clients("logs").get_log_events(
            logGroupName=group, logStreamName=stream, limit=count, startFromHead=False
        )["events"]
    except (ClientError, BotoCoreError):
        return []
    return [e["message"].rstrip() for e in events][-count:]
