"""Read one enterprise export file (CSV, JSON lines, JSON, XML) into raw-zone Arrow batches.

The raw zone keeps the source as written: every field is a ``pa.string()`` column holding the
source text (typing happens later, in the mapping step), and a record that cannot be parsed is
never dropped but becomes a row whose ``_lumina_error`` says why. Files are streamed: memory is
bounded by ``batch_rows`` (and, for CSV, a few pyarrow blocks), never by the file size.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import pyarrow as pa

from lumina_integration.hooks.file_formats._base import (
    ERROR,
    METADATA_COLUMNS,
    RAW,
    RECORD_NO,
    FileFormatOptions,
    MalformedFileError,
)
from lumina_integration.hooks.file_formats._csv import read_csv
from lumina_integration.hooks.file_formats._json import read_json, read_jsonl
from lumina_integration.hooks.file_formats._streams import ByteSource, open_binary
from lumina_integration.hooks.file_formats._xml import read_xml

__all__ = [
    "ERROR",
    "METADATA_COLUMNS",
    "RAW",
    "RECORD_NO",
    "FileFormatOptions",
    "MalformedFileError",
    "format_for_key",
    "read_records",
]

_FORMAT_BY_SUFFIX = {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "json": "json", "xml": "xml"}
_READERS: dict[str, Callable[[io.BufferedReader[Any], FileFormatOptions, int], Iterator[pa.RecordBatch]]] = {
    "csv": read_csv,
    "jsonl": read_jsonl,
    "json": read_json,
    "xml": read_xml,
}


def format_for_key(key: str) -> str | None:
    """Guess a file's format from its name, looking through a ``.gz`` suffix.

    Args:
        key: object key or path, e.g. ``exports/2024/accounts.csv.gz``.

    Returns:
        ``csv``, ``jsonl`` (for .jsonl and .ndjson), ``json`` or ``xml``; None for anything else.
    """
    name = key.rsplit("/", 1)[-1].lower()
    name = name.removesuffix(".gz")
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        return None
    return _FORMAT_BY_SUFFIX.get(suffix)


def read_records(stream: BinaryIO, options: FileFormatOptions, *, batch_rows: int = 50_000) -> Iterator[pa.RecordBatch]:
    """Stream one export file as batches of raw string columns plus the metadata columns.

    Each batch has the file's fields as ``pa.string()`` columns in first-seen order (JSON and XML
    batches may differ in their fields), then RECORD_NO, ERROR and RAW. A gzip stream is
    decompressed on the fly. An empty file yields no batches.

    Args:
        stream: readable binary stream (file, ``io.BytesIO``, boto3 ``StreamingBody``); read once,
            front to back, and not closed.
        options: the file's format and parsing options.
        batch_rows: maximum rows per batch.

    Returns:
        An iterator of record batches of at most ``batch_rows`` rows, never empty.

    Raises:
        ValueError: ``batch_rows`` is not positive.
        MalformedFileError: while iterating, when the file cannot be read as a whole: gzip
            data that is corrupt or truncated, or a CSV file with bytes invalid in
            ``options.encoding`` (the message gives the byte offset), an unreadable header or a
            structure pyarrow cannot parse. Batches already yielded stay valid. JSON and XML
            documents that break off part-way give a final error row instead.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be positive, got {batch_rows}")
    return _read(stream, options, batch_rows)


def _read(stream: ByteSource, options: FileFormatOptions, batch_rows: int) -> Iterator[pa.RecordBatch]:
    source = open_binary(stream, options.max_file_bytes)
    if source is not None:
        yield from _READERS[options.format](source, options, batch_rows)
