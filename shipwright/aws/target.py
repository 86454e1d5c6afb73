"""What every AWS-managed target (ECS, App Runner, ECS Express Mode) starts from."""

from __future__ import annotations

from typing import Any

from shipwright.aws.clients import AwsClients
from shipwright.runner import Runner
from shipwright.settings import Settings


class AwsTarget:
    """Its settings, a runner, its config (read first: bad settings fail before any AWS
    call) and the AWS clients, credentials checked up front."""

    def __init__(
        self, settings: Settings, runner: Runner | None, clients: AwsClients | None, config: Any
    ):
        self.settings = settings
        self.runner = runner or Runner()
        self.config = config
        self.clients = clients or AwsClients(settings)
        self.clients.require_credentials()
