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
    MAX_RAW_CHARS,
    SURROGATES,
    FileFormatOptions,
    RowBatcher,
)
from lumina_integration.hooks.file_formats._json_bounds import JsonBoundsScanner, JsonBoundsStream
from lumina_integration.hooks.file_formats._streams import (
    CHUNK_BYTES,
    FileTooLargeError,
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


class _Text(str):
    """JSON text to emit as is, queued between the values still to be rendered."""

    __slots__ = ()


def _to_json(value: object) -> str:
    # An explicit stack instead of recursion: the nesting comes from the file.
    out: list[str] = []
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, _Text | _JsonNumber):
            out.append(item)
        elif isinstance(item, dict):
            pending.append(_Text("}"))
            for position, (key, member) in reversed(list(enumerate(item.items()))):
                pending += [member, _Text(("," if position else "") + _quote(key) + ":")]
            out.append("{")
        elif isinstance(item, list):
            pending.append(_Text("]"))
            for position in range(len(item) - 1, -1, -1):
                pending.append(item[position])
                if position:
                    pending.append(_Text(","))
            out.append("[")
        else:
            out.append(_scalar_json(item))
    return "".join(out)


def _scalar_json(value: object) -> str:
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
    line_no = 0
    try:
        # A bounded readline: a giant line is never held whole, only its first max_record_bytes.
        while line := lines.readline(options.max_record_bytes + 1):
            line_no += 1
            if line.isspace():
                continue
            if _oversized(line, options.max_record_bytes):
                _skip_rest_of_line(lines, line)
                reason = f"line {line_no}: record larger than max_record_bytes={options.max_record_bytes}; skipped"
                batch = batcher.add_error(reason, _scrub_raw(line[:MAX_RAW_CHARS]))
            else:
                fields, error = _parse_line(line, line_no, options)
                batch = batcher.add(fields) if error is None else batcher.add_error(error, _scrub_raw(line))
            if batch is not None:
                yield batch
    except FileTooLargeError as too_large:
        # The lines read so far stay; the rest of the file is one error row.
        if (batch := batcher.add_error(f"after line {line_no}: {too_large}", None)) is not None:
            yield batch
    if (batch := batcher.flush()) is not None:
        yield batch


def _oversized(line: str, max_record_bytes: int) -> bool:
    if len(line) > max_record_bytes:
        return True
    # A character takes up to four bytes in UTF-8; only long lines need the exact count.
    return len(line) * 4 > max_record_bytes and len(line.encode("utf-8", "surrogatepass")) > max_record_bytes


def _skip_rest_of_line(lines: io.TextIOWrapper, line: str) -> None:
    while not line.endswith("\n") and (line := lines.readline(CHUNK_BYTES)):
        pass


def _parse_line(line: str, line_no: int, options: FileFormatOptions) -> tuple[dict[str, str | None], str | None]:
    if not line.isascii() and SURROGATES.search(line):
        return {}, f"line {line_no}: bytes that are not valid {options.encoding}"
    # Depth can only exceed the bound on a line with more brackets than that: only those are scanned.
    if line.count("[") + line.count("{") > options.max_depth:
        scanner = JsonBoundsScanner(0, options.max_depth, options.max_record_bytes)
        if scanner.feed(line.encode("utf-8")) is not None:
            return {}, f"line {line_no}: record {scanner.violation}"
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
    bounded: JsonBoundsStream | None = None
    try:
        head = _skip_whitespace(text)
        problem = _top_level_problem(head[:1], options.record_path)
        if problem is None:
            prefix = "item" if options.record_path is None else f"{options.record_path}.item"
            # The records array sits inside the path's objects; depth is counted from its items.
            record_depth = 1 + (0 if options.record_path is None else len(options.record_path.split(".")))
            scanner = JsonBoundsScanner(record_depth, options.max_depth, options.max_record_bytes)
            # Unbuffered on purpose: a buffered read that meets invalid bytes would drop the valid
            # text read before them, and with it the last good records.
            bounded = JsonBoundsStream(PrefixedStream(head, text), scanner)
            for item in ijson.items(bounded, prefix, use_float=False):
                if isinstance(item, dict):
                    batch = batcher.add(_fields(item))
                else:
                    reason = f"record {batcher.next_record_no}: expected a JSON object, found {_json_type(item)}"
                    batch = batcher.add_error(reason, _to_json(item))
                if batch is not None:
                    yield batch
    except (ijson.JSONError, InvalidEncodingError, FileTooLargeError) as error:
        read = batcher.next_record_no - 1
        if bounded is not None and bounded.violation is not None:
            problem = f"record {read + 1}: {bounded.violation}; it and the rest of the file were not read"
        else:
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
