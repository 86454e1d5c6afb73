"""One place every AWS client comes from: the standard boto3 credential chain (the
environment, AWS_PROFILE, ~/.aws, a role), AWS_REGION, and AWS_ENDPOINT_URL for a local
endpoint -- each read from the layered settings, so an env file may set them too.

Why one factory: the targets and their trackers ask it for clients by service name, so a
test hands it Stubber-wrapped clients (``clients=``) and drives the whole deploy path,
and the benchmark counts every API call a deploy makes (:attr:`AwsClients.calls`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from shipwright.aws.errors import aws_errors
from shipwright.errors import ConfigError
from shipwright.settings import Settings

#: Settings a session takes explicitly when an env file (not the process) set them;
#: from the process environment boto3 reads them itself.
KEYS = {"AWS_ACCESS_KEY_ID": "aws_access_key_id", "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key"}


class AwsClients:
    """``clients("ecs")``: a cached client of one session. ``clients=``: ready-made
    clients by service name (tests); they are used as given and counted all the same."""

    def __init__(self, settings: Settings, *, clients: Mapping[str, Any] | None = None):
        self.settings = settings
        self.calls: Counter[str] = Counter()
        self._made: dict[str, Any] = {}
        self._session: Any = None
        for service, client in (clients or {}).items():
            self._made[service] = self._counted(client)

    @property
    def region(self) -> str:
        return self.settings.get("AWS_REGION") or self.session().region_name or "us-east-1"

    def session(self) -> Any:
        if self._session is None:
            import boto3

            kwargs: dict[str, Any] = {}
            for key, arg in KEYS.items():
                source = self.settings.sources.get(key)
                if self.settings.get(key) and source and source.layer != "process environment":
                    kwargs[arg] = self.settings[key]
            with aws_errors(self.settings, "opening the AWS session"):
                self._session = boto3.session.Session(
                    profile_name=self.settings.get("AWS_PROFILE"),
                    region_name=self.settings.get("AWS_REGION"),
                    **kwargs,
                )
        return self._session

    def __call__(self, service: str) -> Any:
        if service not in self._made:
            from botocore.config import Config

            config = Config(
                retries={"mode": "standard", "max_attempts": 4},
                connect_timeout=10,
                read_timeout=60,
                user_agent_extra="shipwright",
            )
            with aws_errors(self.settings, f"creating the {service} client"):
                client = self.session().client(
                    service,
                    region_name=self.region,
                    endpoint_url=self.settings.get("AWS_ENDPOINT_URL"),
                    config=config,
                )
            self._made[service] = self._counted(client)
        return self._made[service]

    def require_credentials(self) -> None:
        """A ConfigError before anything runs when the chain finds no credentials."""
        if self._made:
            return  # given clients bring their own
        with aws_errors(self.settings, "looking for AWS credentials"):
            found = self.session().get_credentials()
        if found is None:
            raise ConfigError(
                "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                f"AWS_SECRET_ACCESS_KEY (envs/.env.{self.settings.environment}.local or the "
                "environment), or run where a role provides them"
            )

    def _counted(self, client: Any) -> Any:
        service = client.meta.service_model.service_name

        def count(model: Any, **_: Any) -> None:
            self.calls[f"{service}.{model.name}"] += 1

        # every call, Stubber-answered ones too (Stubber answers at before-call)
        client.meta.events.register("before-parameter-build", count)
        return client

    def close(self) -> None:
        for client in self._made.values():
            close = getattr(client, "close", None)
            if close is not None:
                close()
