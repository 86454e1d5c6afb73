"""The deploy lock and the ledger of the AWS targets, kept in S3.

Why S3 (not DynamoDB): one bucket and no table to provision; ``PutObject`` with
``If-None-Match: *`` creates an object only when its key is free, atomically (S3 is
strongly consistent), so two deploys started at once cannot both take the lock. The
ledger is one object per entry, created the same way under ``ledger/<entry id>.json``:
appending never reads, rewrites or races on a shared object, and entry ids sort by
time. Bucket versioning, lifecycle rules and access policies are the team's own.

Keys: ``<AWS_STATE_PREFIX>/<app>/<environment>/lock.json`` and ``…/ledger/<id>.json``.
These writes are the flow's own bookkeeping (the flow never takes the lock under
--dry-run), so they do not go through the Runner's plan.
"""

from __future__ import annotations

import json
from typing import Any

from shipwright.aws.clients import AwsClients
from shipwright.aws.errors import aws_errors, code_of
from shipwright.errors import ConfigError
from shipwright.lock import LockInfo
from shipwright.settings import Settings

TAKEN = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")
ABSENT = ("NoSuchKey", "404", "NotFound")


def state_location(settings: Settings) -> tuple[str, str]:
    """(bucket, key prefix) of an AWS target's lock and ledger; a ConfigError naming
    AWS_STATE_BUCKET when it is not set (nothing has run yet)."""
    bucket = settings.get("AWS_STATE_BUCKET")
    if not bucket:
        raise ConfigError(
            f"AWS_STATE_BUCKET is not set for {settings.environment!r}: the "
            f"{settings.get('DEPLOY_TARGET')} target keeps its deploy lock and ledger in that "
            f"S3 bucket (set it in envs/.env.{settings.environment})"
        )
    return bucket, f"{settings['AWS_STATE_PREFIX'].strip('/')}/{settings['APP_NAME']}"


class _InS3:
    def __init__(self, clients: AwsClients, bucket: str, prefix: str):
        self.clients, self.bucket, self.prefix = clients, bucket, prefix.strip("/")

    def key(self, environment: str, name: str) -> str:
        return f"{self.prefix}/{environment}/{name}"

    def _errors(self, doing: str):
        return aws_errors(
            self.clients.settings, doing, not_found={"NoSuchBucket": "AWS_STATE_BUCKET"}
        )

    def _get(self, key: str) -> tuple[bytes, str] | None:
        from botocore.exceptions import ClientError

        with self._errors(f"reading s3://{self.bucket}/{key}"):
            try:
                got = self.clients("s3").get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if code_of(exc) in ABSENT:
                    return None
                raise
            return got["Body"].read(), got.get("ETag", "")

    def _create(self, key: str, data: dict[str, Any]) -> bool:
        """Create ``key`` only if it does not exist; False when it does."""
        from botocore.exceptions import ClientError

        body = json.dumps(data, sort_keys=True).encode()
        with self._errors(f"writing s3://{self.bucket}/{key}"):
            try:
                self.clients("s3").put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    IfNoneMatch="*",
                    ContentType="application/json",
                )
            except ClientError as exc:
                if code_of(exc) in TAKEN:
                    return False
                raise
        return True


class S3LockStore(_InS3):
    """The lock object: created atomically, read, deleted only while its token is ours."""

    def create(self, info: LockInfo) -> LockInfo | None:
        if self._create(self.key(info.environment, "lock.json"), info.to_dict()):
            return None
        return self.read(info.environment) or LockInfo(info.environment, holder="unknown")

    def read(self, environment: str) -> LockInfo | None:
        got = self._get(self.key(environment, "lock.json"))
        return None if got is None else _lock_info(got[0], environment)

    def delete(self, environment: str, token: str | None = None) -> None:
        key = self.key(environment, "lock.json")
        extra: dict[str, str] = {}
        if token is not None:
            got = self._get(key)
            if got is None or _lock_info(got[0], environment).token != token:
                return  # not ours (any more): never remove someone else's lock
            extra["IfMatch"] = got[1]  # and not one that replaced ours meanwhile
        with self._errors(f"deleting s3://{self.bucket}/{key}"):
            self.clients("s3").delete_object(Bucket=self.bucket, Key=key, **extra)


def _lock_info(body: bytes, environment: str) -> LockInfo:
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return LockInfo.from_dict({**data, "environment": environment})
    except ValueError:
        return LockInfo(environment, holder="unknown", since="", reason="unreadable lock")


class S3LedgerStore(_InS3):
    """One object per entry; read back in id (time) order. An entry never changes once
    written, so each is fetched once per process (a run reads the ledger several times)."""

    def __init__(self, clients: AwsClients, bucket: str, prefix: str):
        super().__init__(clients, bucket, prefix)
        self._read: dict[str, dict[str, Any] | None] = {}

    def load(self, environment: str) -> list[dict[str, Any]]:
        prefix = self.key(environment, "ledger/")
        keys: list[str] = []
        with self._errors(f"listing s3://{self.bucket}/{prefix}"):
            pages = self.clients("s3").get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
                keys += [item["Key"] for item in page.get("Contents", [])]
        for key in keys:
            if key not in self._read:
                self._read[key] = self._entry(key)
        return [dict(self._read[k]) for k in sorted(keys) if self._read[k] is not None]

    def _entry(self, key: str) -> dict[str, Any] | None:
        got = self._get(key)
        try:
            entry = json.loads(got[0]) if got else None
        except ValueError:
            return None  # a torn or foreign object must not hide the rest
        return entry if isinstance(entry, dict) else None

    def append(self, environment: str, entry: dict[str, Any]) -> None:
        key = self.key(environment, f"ledger/{entry['id']}.json")
        if not self._create(key, entry):
            raise ValueError(f"ledger entry {entry['id']} exists already")
