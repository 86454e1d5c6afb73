"""MONGO_URI -> a pymongo database, checked to answer; the URI is never printed (its
password is a registered secret, and messages name only the host)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from shipwright.errors import ConfigError, ShipwrightError
from shipwright.settings import Settings

CONNECT_SECONDS = 5.0


def host_of(uri: str) -> str:
    """``host:port`` of a MongoDB URI, without credentials (for messages)."""
    netloc = urlsplit(uri).netloc
    return netloc.rsplit("@", 1)[-1] or "?"


def mongo_uri(settings: Settings) -> str:
    uri = settings.get("MONGO_URI")
    if not uri:
        raise ConfigError(
            f"MONGO_URI is not set for {settings.environment!r}: migrations need the database "
            f"(set it in envs/.env.{settings.environment}.local or the process environment)"
        )
    return uri


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[Any]:
    """The database MONGO_URI names (its path), answering a ping; closed afterwards."""
    import pymongo
    from pymongo.errors import ConfigurationError, PyMongoError

    uri = mongo_uri(settings)
    try:
        client = pymongo.MongoClient(
            uri,
            serverSelectionTimeoutMS=int(CONNECT_SECONDS * 1000),
            connectTimeoutMS=int(CONNECT_SECONDS * 1000),
            tz_aware=True,
            appname="shipwright-migrate",
        )
    except ConfigurationError as exc:
        raise ConfigError(
            f"MONGO_URI ({settings.sources['MONGO_URI']}) is not valid: {exc}"
        ) from None
    try:
        try:
            db = client.get_default_database()
        except ConfigurationError:
            raise ConfigError(
                f"MONGO_URI ({settings.sources['MONGO_URI']}) names no database: "
                "end it with /DATABASE"
            ) from None
        try:
            db.command("ping")
        except PyMongoError as exc:
            reason = str(exc).split(",")[0][:200]
            raise ShipwrightError(
                f"MongoDB at {host_of(uri)} does not answer ({type(exc).__name__}: {reason}); "
                "nothing changed"
            ) from None
        yield db
    finally:
        client.close()
