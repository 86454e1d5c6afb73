"""Answers a botocore client's calls from the state of a small model of the service,
each answer built by the same Stubber scripts (arstub.py, expressstub.py) in AWS's
documented shapes and checked against botocore's service model, as Stubber checks them.

Why: the conformance suite runs the same cases on every target without knowing what a
target calls; App Runner and Express Mode are not in the local endpoint, and a queue of
answers (Stubber) cannot follow cases it does not know. The model here is the
smallest that keeps the contract's promises visible (a release that never gets healthy
is rolled back by the platform); what it proves is the flow's and the target's handling
of those answers -- the platforms' own behaviour is the real-AWS suite's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.validate import ParamValidator


class Captured:
    """Stands in for a Stubber: keeps the answer a script method built."""

    def __init__(self) -> None:
        self.answer: dict[str, Any] | None = None

    def add_response(self, method: str, response: dict[str, Any], expected: Any = None) -> None:
        self.answer = response


def built(script: Any, method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The answer ``script.method(...)`` would have queued."""
    captured = Captured()
    saved, script.stub = script.stub, captured
    try:
        getattr(script, method)(*args, **kwargs)
    finally:
        script.stub = saved
    return captured.answer or {}


class Responder:
    """``Responder(client, {"DescribeService": handler, …})``: each call answered by its
    handler (one at a time), the answer validated against the operation's output shape;
    an operation without a handler fails the test."""

    def __init__(self, client: Any, handlers: dict[str, Callable[[dict[str, Any]], dict]]):
        self.handlers, self.lock, self.asked = handlers, threading.Lock(), threading.local()
        client.meta.events.register_first("before-parameter-build.*.*", self._keep)
        client.meta.events.register_first("before-call.*.*", self._answer)

    def _keep(self, params, model, **_):
        """The call's own parameters (before-call sees the serialized request)."""
        self.asked.params = dict(params)

    def _answer(self, model, **_):
        handler = self.handlers.get(model.name)
        if handler is None:
            raise AssertionError(f"the model of this service does not answer {model.name}")
        with self.lock:
            answer = handler(self.asked.params)
        report = ParamValidator().validate(answer, model.output_shape)
        if report.has_errors():
            raise AssertionError(f"{model.name}: {report.generate_report()}")
        return AWSResponse(None, 200, {}, None), answer
