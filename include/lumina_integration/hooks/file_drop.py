"""File drops: enterprise exports (CSV, JSON, XML) landing under an S3 prefix.

The unit of change is a file version: ``(key, ETag)``. A window selects files by their
LastModified time; files whose version a previous run already committed are skipped, so a file
is loaded once, and again only when it is replaced by a new version. The lookback of the window
catches files whose upload started before the previous window ended but finished after it
(S3's LastModified is the upload's start).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from lumina_integration.hooks.base import (
    SOURCE_KEY,
    SOURCE_MODIFIED,
    SOURCE_VERSION,
    SourceObject,
    SourceVersion,
)
from lumina_integration.hooks.capabilities import ExtractUsage
from lumina_integration.hooks.file_drop_options import FileDropOptions, split_location

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.window import Window


class FileDropHook(BaseHook):
    """Reads export files from S3 through an ``aws`` connection (endpoint_url in extra for S3-compatible stores).

    Args:
        aws_conn_id: the Airflow connection.
    """

    conn_name_attr = "aws_conn_id"
    default_conn_name = "aws_default"
    conn_type = "aws"
    hook_name = "Lumina file drop (S3)"

    def __init__(self, aws_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.aws_conn_id = aws_conn_id
        self._versions: list[SourceVersion] = []

    @cached_property
    def client(self) -> Any:
        from lumina_integration.staging.s3 import s3_client

        return s3_client(self.aws_conn_id)

    def get_conn(self) -> Any:
        return self.client

    def server_now(self) -> datetime:
        # Any S3 response carries the server's Date header; list_buckets is the cheapest call.
        response = self.client.list_buckets()
        header = response["ResponseMetadata"]["HTTPHeaders"].get("date")
        if header is None:
            raise RuntimeError("the S3 server sent no Date header; cannot bound the window by server time")
        return parsedate_to_datetime(header).astimezone(UTC)

    def test_connection(self) -> tuple[bool, str]:
        try:
            buckets = self.client.list_buckets().get("Buckets", [])
        except Exception as exc:  # any client error means the connection does not work
            return False, f"{type(exc).__name__}: {exc}"
        return True, f"connected; {len(buckets)} bucket(s) visible"

    def discover(self) -> list[SourceObject]:
        """Top-level prefixes of every visible bucket: each is a candidate drop location."""
        objects = []
        for bucket in self.client.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            listing = self.client.list_objects_v2(Bucket=name, Delimiter="/")
            for prefix in listing.get("CommonPrefixes", []):
                objects.append(SourceObject(name=f"s3://{name}/{prefix['Prefix']}"))
        return objects

    def list_files(self, obj: str, window: Window, pattern: str = "*") -> list[dict[str, Any]]:
        """Files under ``obj`` modified within ``window``, oldest first (ties broken by key)."""
        bucket, prefix = split_location(obj)
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[-1]
                if item["Key"].endswith("/") or not fnmatch.fnmatch(name, pattern):
                    continue
                if window.contains(item["LastModified"].astimezone(UTC)):
                    found.append({**item, "Bucket": bucket})
        return sorted(found, key=lambda item: (item["LastModified"], item["Key"]))

    def read(
        self,
        obj: str,
        window: Window,
        options: Mapping[str, Any],
        *,
        already_loaded: frozenset[tuple[str, str]] = frozenset(),
    ) -> Iterator[pa.RecordBatch]:
        """Stream every new file version in the window as string-typed Arrow batches."""
        from lumina_integration.hooks.file_formats import FileFormatOptions, format_for_key

        opts = FileDropOptions.model_validate(dict(options))
        self._versions = []
        for item in self.list_files(obj, window, opts.pattern):
            key, etag = item["Key"], item["ETag"].strip('"')
            if (key, etag) in already_loaded:
                continue
            fmt = opts.format if opts.format != "auto" else format_for_key(key)
            if fmt is None:
                raise ValueError(f"s3://{item['Bucket']}/{key}: cannot tell the format from the name; set format")
            reader_options = FileFormatOptions(
                format=fmt,
                encoding=opts.encoding,
                delimiter=opts.delimiter,
                quote_char=opts.quote_char,
                record_path=opts.record_path,
                null_values=opts.null_values,
                max_depth=opts.max_depth,
                max_record_bytes=opts.max_record_bytes,
                max_file_bytes=opts.max_file_bytes,
            )
            modified = item["LastModified"].astimezone(UTC)
            rows = 0
            for batch in self._read_file(item["Bucket"], key, etag, reader_options):
                rows += batch.num_rows
                yield _with_origin(batch, key, etag, modified)
            self._versions.append(SourceVersion(key=key, version=etag, modified=modified, rows=rows))

    def _read_file(self, bucket: str, key: str, etag: str, options: Any) -> Iterator[pa.RecordBatch]:
        from lumina_integration.hooks.file_formats import read_records

        # IfMatch pins the version we listed: a file replaced mid-read fails loudly instead of
        # mixing two versions under one ETag.
        body = self.client.get_object(Bucket=bucket, Key=key, IfMatch=etag)["Body"]
        try:
            yield from read_records(body, options)
        finally:
            body.close()

    def usage(self) -> ExtractUsage:
        """S3 requests are not metered against a quota, so none are counted; what was read is
        :meth:`versions_read`."""
        return ExtractUsage()

    def versions_read(self) -> list[SourceVersion]:
        return list(self._versions)


def _with_origin(batch: pa.RecordBatch, key: str, etag: str, modified: datetime) -> pa.RecordBatch:
    import pyarrow as pa

    n = batch.num_rows
    columns = [
        *batch.columns,
        pa.array([key] * n, pa.string()),
        pa.array([etag] * n, pa.string()),
        pa.array([modified] * n, pa.timestamp("us", tz="UTC")),
    ]
    names = [*batch.schema.names, SOURCE_KEY, SOURCE_VERSION, SOURCE_MODIFIED]
    return pa.RecordBatch.from_arrays(columns, names=names)
