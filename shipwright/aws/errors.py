"""AWS failures as the tool's errors: bad credentials, a missing cluster or service, an
unreachable endpoint are ConfigErrors (exit 2, nothing changed) naming the setting and
the layer that set it; anything else is a ShipwrightError with AWS's own words."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from shipwright.errors import ConfigError, ShipwrightError
from shipwright.redact import redact
from shipwright.settings import Settings

CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
    }
)
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


def named(settings: Settings, key: str) -> str:
    """``KEY=value (set by envs/.env.staging:3)`` -- where a user fixes it."""
    value = settings.get(key)
    source = settings.sources.get(key)
    shown = f"{key}={value}" if value is not None else f"{key} (not set)"
    return f"{shown} (set by {source})" if source and value is not None else shown


def credentials_hint(settings: Settings) -> str:
    if settings.get("AWS_PROFILE"):
        return f"the profile {named(settings, 'AWS_PROFILE')}"
    if settings.get("AWS_ACCESS_KEY_ID"):
        return f"the key AWS_ACCESS_KEY_ID (set by {settings.sources['AWS_ACCESS_KEY_ID']})"
    return "the standard chain (environment, AWS_PROFILE, ~/.aws, an instance or task role)"


def code_of(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def aws_errors(
    settings: Settings, doing: str, *, not_found: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Translate what botocore raises while ``doing`` something. ``not_found`` maps an
    AWS error code (ClusterNotFoundException …) to the setting that named the thing."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ProfileNotFound,
    )

    try:
        yield
    except NoCredentialsError:
        raise ConfigError(
            f"no AWS credentials while {doing}: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (envs/.env.<env>.local or the environment), or run where "
            "a role provides them"
        ) from None
    except ProfileNotFound:
        raise ConfigError(
            f"{named(settings, 'AWS_PROFILE')} is not a profile in ~/.aws/config"
        ) from None
    except NoRegionError:
        raise ConfigError(f"no AWS region while {doing}: set AWS_REGION") from None
    except EndpointConnectionError as exc:
        key = "AWS_ENDPOINT_URL" if settings.get("AWS_ENDPOINT_URL") else "AWS_REGION"
        raise ShipwrightError(
            redact(f"AWS is unreachable while {doing}: {exc} ({named(settings, key)})")
        ) from None
    except ClientError as exc:
        code, message = code_of(exc), exc.response.get("Error", {}).get("Message", "")
        if code in CREDENTIAL_CODES:
            raise ConfigError(
                f"AWS refused the credentials of {credentials_hint(settings)} while {doing}: "
                f"{code}: {message}"
            ) from None
        if not_found and code in not_found:
            raise ConfigError(
                f"{named(settings, not_found[code])} does not exist ({doing}: {message})"
            ) from None
        if code in DENIED_CODES:
            raise ConfigError(
                redact(f"AWS denied {doing} to {credentials_hint(settings)}: {message}")
            ) from None
        raise ShipwrightError(redact(f"AWS error while {doing}: {code}: {message}")) from None
    except BotoCoreError as exc:
        raise ShipwrightError(redact(f"AWS error while {doing}: {exc}")) from None
