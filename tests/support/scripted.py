"""A boto3 client whose answers are queued on a botocore Stubber: every request and
every canned response is checked against the service's model, every call's parameters
are kept (to look inside UpdateService and the like)."""

from __future__ import annotations

from typing import Self

import boto3
from botocore.stub import Stubber


class ScriptedClient:
    """Subclasses name the AWS service (``aws_service``) and add methods that queue its answers."""

    aws_service = ""
    region = "us-east-1"

    def __init__(self, endpoint: str):
        self.client = boto3.client(
            self.aws_service,
            region_name=self.region,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.stub = Stubber(self.client)
        self.requests: list[tuple[str, dict]] = []
        self.client.meta.events.register(f"provide-client-params.{self.aws_service}", self._record)

    def _record(self, params, model, **_):
        self.requests.append((model.name, dict(params)))

    def sent(self, operation: str) -> list[dict]:
        return [params for name, params in self.requests if name == operation]

    def __enter__(self) -> Self:
        self.stub.activate()
        return self

    def __exit__(self, *exc) -> None:
        self.stub.deactivate()

    def done(self) -> None:
        self.stub.assert_no_pending_responses()
