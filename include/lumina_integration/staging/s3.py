"""S3 access for the lake, through the official Amazon provider's connection handling.

Credentials and the endpoint (``endpoint_url`` in the connection extra, for S3-compatible
servers) come from the Airflow connection; nothing here reads secrets from anywhere else.
Every client asks for its bucket's server-side encryption on each object it creates
(:mod:`lumina_integration.protection.sse`).
"""

from __future__ import annotations

from typing import Any


def s3_client(conn_id: str) -> Any:
    """A boto3 S3 client for an ``aws`` Airflow connection, encrypting every upload per its bucket."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from lumina_integration.protection.sse import enforce_sse

    return enforce_sse(S3Hook(aws_conn_id=conn_id).get_conn())


def delete_prefix(client: Any, bucket: str, prefix: str) -> int:
    """Delete every object under ``prefix``; returns how many were deleted."""
    deleted = 0
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted
