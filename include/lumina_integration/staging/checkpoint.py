"""Per-run checkpoints on S3: small JSON documents a task keeps for its own retries.

A retried extract deletes and rewrites its raw parts, but some state must outlive the failed
attempt: the id of the Bulk 2.0 job it started (so the retry re-attaches to it instead of paying
for a new one). Checkpoints live in their own zone, ``checkpoints/<system>/<object>/<run key>/``,
which no step clears.
"""

from __future__ import annotations

import json
from typing import Any


class S3Checkpoint:
    """Named JSON documents under one run's checkpoint prefix."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=f"{self.prefix}{name}.json")["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        value: dict[str, Any] = json.loads(body)
        return value

    def put(self, name: str, value: dict[str, Any]) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=f"{self.prefix}{name}.json", Body=json.dumps(value, sort_keys=True).encode()
        )
