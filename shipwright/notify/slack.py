"""Slack: one message per deploy event through an incoming webhook.

Why these four events: the people on call need to know a deploy started (something
may wobble), how it ended (succeeded, rolled back, failed) and where to look -- the
version, environment, who, how long it took and a link to the run. The webhook URL
is itself a secret: it is never printed, and the message passes the redaction layer.
"""

from __future__ import annotations

from typing import Any

from shipwright.domain import Release
from shipwright.notify import ci_link, send
from shipwright.output import status
from shipwright.runner import Runner
from shipwright.settings import Settings

#: event -> (emoji, words)
EVENTS: dict[str, tuple[str, str]] = {
    "started": (":rocket:", "started"),
    "succeeded": (":white_check_mark:", "succeeded"),
    "rolled_back": (":leftwards_arrow_with_hook:", "was rolled back"),
    "failed": (":x:", "failed"),
}


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def message(
    event: str,
    release: Release,
    *,
    action: str = "Deploy",
    duration: float | None = None,
    link: str | None = None,
    detail: str = "",
) -> dict[str, Any]:
    """The webhook payload: a plain ``text`` (notifications, fallbacks) plus blocks."""
    if event not in EVENTS:
        raise ValueError(f"Slack event must be one of {', '.join(EVENTS)}, not {event!r}")
    emoji, words = EVENTS[event]
    took = duration_text(duration)
    headline = f"{action} of {release.version} to {release.environment} {words}"
    text = f"{emoji} {headline} (by {release.who}{', ' + took if took else ''})"
    fields = [
        {"type": "mrkdwn", "text": f"*Version*\n`{release.version}`"},
        {"type": "mrkdwn", "text": f"*Environment*\n{release.environment}"},
        {"type": "mrkdwn", "text": f"*Who*\n{release.who}"},
    ]
    if took:
        fields.append({"type": "mrkdwn", "text": f"*Duration*\n{took}"})
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} *{headline}*"}},
        {"type": "section", "fields": fields},
    ]
    if detail:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": detail[:2900]}})
    if link:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{link}|Details>"}]}
        )
    return {"text": text, "blocks": blocks}


def notify(
    settings: Settings,
    event: str,
    release: Release,
    *,
    runner: Runner | None = None,
    timeout: float = 5.0,
    **details: Any,
) -> bool | None:
    """Post one message (``details``: :func:`message`'s action, duration, link, detail).
    True sent; False failed (one ✘ line); None skipped or planned."""
    url = settings.get("SLACK_WEBHOOK_URL")
    if not url:
        status(None, "Slack: skipped (SLACK_WEBHOOK_URL is not set)")
        return None
    details["link"] = details.get("link") or ci_link()
    payload = message(event, release, **details)
    action = str(details.get("action", "Deploy")).lower()
    description = (
        f"POST Slack webhook: {action} {event} ({release.version} to {release.environment})"
    )
    return send(
        runner, description, "POST", url, payload, what="Slack notification", timeout=timeout
    )
