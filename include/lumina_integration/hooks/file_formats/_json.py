"""JSON lines and whole-document JSON arrays (streamed with ijson), values kept as source text."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from typing import Any

import ijson
import pyarrow as pa

from lumina_integration.hooks.file_formats._base import (
    SURROGATES,
    FileFormatOptions,
    RowBatcher,
)
from lumina_integration.hooks.file_formats._streams import (
    CHUNK_BYTES,
    InvalidEncodingError,
    PrefixedStream,
    Utf8Transcoder,
    is_utf8,
)

_JSON_WHITESPACE = b" \t\r\n"
_quote = partial(json.dumps, ensure_ascii=False)


class _JsonNumber(str):
    """A number exactly as written in the source (``1.50`` stays ``1.50``), kept apart from strings
    so that nested values serialise it unquoted."""

    __slots__ = ()


_LINE_DECODER = json.JSONDecoder(parse_float=_JsonNumber, parse_int=_JsonNumber, parse_constant=_JsonNumber)


def render(value: object) -> str | None:
    """Source text of a JSON value: strings as is, scalars as JSON text, containers as compact JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return _to_json(value)


def _fields(record: dict[str, object]) -> dict[str, str | None]:
    # Strings (and numbers, parsed as _JsonNumber) are most values: skip the call for them.
    return {key: value if isinstance(value, str) else render(value) for key, value in record.items()}


def _to_json(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{_quote(key)}:{_to_json(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_to_json(item) for item in value) + "]"
    if isinstance(value, _JsonNumber):
        return str(value)
    if isinstance(value, str):
        return _quote(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str) and not isinstance(value, _JsonNumber):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def read_jsonl(source: io.BufferedReader[Any], options: FileFormatOptions, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Stream a file of one JSON object per line as raw-zone batches; bad lines become error rows."""
    encoding = "utf-8-sig" if is_utf8(options.encoding) else options.encoding
    # surrogateescape turns undecodable bytes into lone surrogates, so one bad line costs one row.
    lines = io.TextIOWrapper(source, encoding=encoding, errors="surrogateescape", newline=None)
    batcher = RowBatcher(batch_rows)
    for line_no, line in enumerate(lines, 1):
        if line.isspace():
            continue
        fields, error = _parse_line(line, line_no, options.encoding)
        batch = batcher.add(fields) if error is None else batcher.add_error(error, _scrub_raw(line))
        if batch is not None:
            yield batch
    if (batch := batcher.flush()) is not None:
        yield batch


def _parse_line(line: str, line_no: int, encoding: str) -> tuple[dict[str, str | None], str | None]:
    if not line.isascii() and SURROGATES.search(line):
        return {}, f"line {line_no}: bytes that are not valid {encoding}"
    try:
        value = _LINE_DECODER.decode(line)
    except json.JSONDecodeError as error:
        return {}, f"line {line_no}: invalid JSON: {error.msg} at column {error.colno}"
    if not isinstance(value, dict):
        return {}, f"line {line_no}: expected a JSON object, found {_json_type(value)}"
    return _fields(value), None


def _scrub_raw(line: str) -> str:
    return SURROGATES.sub("\ufffd", line.rstrip("\r\n"))


def read_json(source: io.BufferedReader[Any], options: FileFormatOptions, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Stream the records array of a JSON document as raw-zone batches.

    A document that breaks off or turns invalid part-way gives the records read so far, then one
    error row for the unreadable rest.
    """
    text = Utf8Transcoder(source, options.encoding)
    batcher = RowBatcher(batch_rows)
    problem: str | None = None
    try:
        head = _skip_whitespace(text)
        problem = _top_level_problem(head[:1], options.record_path)
        if problem is None:
            prefix = "item" if options.record_path is None else f"{options.record_path}.item"
            # Unbuffered on purpose: a buffered read that meets invalid bytes would drop the valid
            # text read before them, and with it the last good records.
            for item in ijson.items(PrefixedStream(head, text), prefix, use_float=False):
                if isinstance(item, dict):
                    batch = batcher.add(_fields(item))
                else:
                    reason = f"record {batcher.next_record_no}: expected a JSON object, found {_json_type(item)}"
                    batch = batcher.add_error(reason, _to_json(item))
                if batch is not None:
                    yield batch
    except (ijson.JSONError, InvalidEncodingError) as error:
        read = batcher.next_record_no - 1
        # yajl appends an ASCII-art pointer on further lines; the first line is the message.
        lines = str(error).strip().splitlines()
        message = lines[0] if lines else type(error).__name__
        problem = f"invalid JSON after record {read}; the rest of the file could not be read: {message}"
    if problem is not None and (batch := batcher.add_error(problem, None)) is not None:
        yield batch
    if (batch := batcher.flush()) is not None:
        yield batch


def _skip_whitespace(text: Utf8Transcoder) -> bytes:
    """The document's text from its first non-whitespace byte, as far as the first read went."""
    while chunk := text.read(CHUNK_BYTES):
        if head := chunk.lstrip(_JSON_WHITESPACE):
            return head
    return b""


def _top_level_problem(first: bytes, record_path: str | None) -> str | None:
    """Check the document's first character, since ijson silently finds nothing at a wrong path."""
    if not first:
        return "the file holds only whitespace, not a JSON document"
    char = first.decode("utf-8", "replace")
    if record_path is None and char != "[":
        hint = "; set record_path to the records array" if char == "{" else ""
        return f"expected a JSON array of records at the top level, found {char!r}{hint}"
    if record_path is not None and char != "{":
        return f"expected a JSON object at the top level (record_path={record_path!r}), found {char!r}"
    return None
