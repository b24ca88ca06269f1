"""CSV through pyarrow's streaming C++ reader; only rows with the wrong field count touch Python."""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv

from lumina_integration.hooks.file_formats._base import (
    FileFormatOptions,
    MalformedFileError,
    output_schema,
    rebatch,
    record_numbers,
    truncate_raw,
    unique_names,
)
from lumina_integration.hooks.file_formats._csv_records import CsvRecordGuard
from lumina_integration.hooks.file_formats._streams import (
    CHUNK_BYTES,
    FileTooLargeError,
    InvalidEncodingError,
    Utf8Transcoder,
)

# A record must fit in one block, so blocks are larger than pyarrow's 1 MiB default to leave room
# for long free-text cells, and at least max_record_bytes (longer records never reach pyarrow).
_BLOCK_BYTES = 4 << 20
_MAX_HEADER_BYTES = 1 << 20
# Bad rows wait in memory until the batch they precede comes out; pyarrow only hands out the first
# batch once it has found a good row, so a file of nothing but bad rows must stop somewhere.
_MIN_PENDING_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class _BadRow:
    record: int  # pyarrow's row number after the header: bad rows count, blank lines do not
    expected: int
    found: int
    raw: str
    newlines: int  # line breaks inside the row (quoted values), for the line numbers after it
    reason: str | None = None  # None: the wrong field count is the reason


class _BadRowCollector:
    """``invalid_row_handler`` for pyarrow: keeps rows with the wrong field count, in file order."""

    def __init__(self, limit: int, guard: CsvRecordGuard, max_record_bytes: int) -> None:
        self.pending: deque[_BadRow] = deque()
        self.overflowed = False
        self._limit = limit
        self._guard = guard
        self._oversized = f"record larger than max_record_bytes={max_record_bytes}; skipped to the next record"

    def __call__(self, row: pa_csv.InvalidRow) -> str:
        if len(self.pending) >= self._limit:
            self.overflowed = True
            return "error"
        text = row.text
        number, expected, found = int(row.number), row.expected_columns, row.actual_columns  # use_threads=False
        if text.startswith(self._guard.marker):
            skipped = self._guard.skipped[int(text[len(self._guard.marker) :].partition(self._guard.delimiter)[0])]
            bad = _BadRow(number, expected, found, skipped.raw, skipped.newlines, self._oversized)
        else:
            bad = _BadRow(number, expected, found, truncate_raw(text), text.count("\n"))
        self.pending.append(bad)
        return "skip"

    def error_for(self, error: pa.ArrowInvalid, rows_read: int) -> MalformedFileError:
        if self.overflowed:
            first = self.pending[0].record if self.pending else rows_read + 1
            return MalformedFileError(
                f"more than {self._limit} rows in a row, from record {first} on, have the wrong number of "
                "fields; check the delimiter and the header"
            )
        return MalformedFileError(f"CSV could not be parsed after {rows_read} good rows: {error}")


def read_csv(source: io.BufferedReader[Any], options: FileFormatOptions, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Stream a CSV file with a header row as raw-zone batches."""
    text = io.BufferedReader(Utf8Transcoder(source, options.encoding), CHUNK_BYTES)
    header = _read_header(text, options)
    if header is None or not _more_after_header(text):
        return
    names, header_lines = header
    guard = CsvRecordGuard(text, options.quote_char, options.delimiter, len(names), options.max_record_bytes)
    bad_rows = _BadRowCollector(max(batch_rows, _MIN_PENDING_LIMIT), guard, options.max_record_bytes)
    batches = _open(io.BufferedReader(guard, CHUNK_BYTES), names, options, bad_rows, guard)
    yield from rebatch(_with_metadata(batches, names, header_lines, bad_rows, guard), batch_rows)


def _more_after_header(text: io.BufferedReader[Any]) -> bool:
    try:
        return bool(text.peek(1))
    except (InvalidEncodingError, FileTooLargeError):
        return True  # the failure repeats on the next read, where it becomes the final error row


def _read_header(text: io.BufferedReader[Any], options: FileFormatOptions) -> tuple[list[str], int] | None:
    """Read the header row with Python's csv module; returns the column names and lines used."""
    lines_read = 0

    def lines() -> Iterator[str]:
        nonlocal lines_read
        while line := text.readline(_MAX_HEADER_BYTES):
            if len(line) == _MAX_HEADER_BYTES and not line.endswith(b"\n"):
                raise MalformedFileError(f"the CSV header is longer than {_MAX_HEADER_BYTES} bytes")
            lines_read += 1
            yield line.decode("utf-8")

    reader = csv.reader(lines(), delimiter=options.delimiter, quotechar=options.quote_char)
    try:
        for row in reader:
            if row:  # blank lines before the header
                names = [name.strip() or f"column_{position}" for position, name in enumerate(row, 1)]
                return unique_names(names), lines_read
    except csv.Error as error:
        raise MalformedFileError(f"could not read the CSV header: {error}") from None
    return None


def _open(
    text: io.BufferedReader[Any],
    names: list[str],
    options: FileFormatOptions,
    bad_rows: _BadRowCollector,
    guard: CsvRecordGuard,
) -> Iterator[pa.RecordBatch]:
    """pyarrow's batches of the rows after the header, every column typed string."""
    block_size = max(_BLOCK_BYTES, options.max_record_bytes + CHUNK_BYTES)
    read_options = pa_csv.ReadOptions(column_names=names, use_threads=False, block_size=block_size)
    parse_options = pa_csv.ParseOptions(
        delimiter=options.delimiter,
        quote_char=options.quote_char,
        newlines_in_values=True,
        invalid_row_handler=bad_rows,
    )
    convert_options = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        # Replaces pyarrow's default list ("NA", "NULL", "nan"...): raw text stays as written.
        null_values=["", *options.null_values],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        check_utf8=False,  # Utf8Transcoder has validated every byte
    )
    rows_read = 0
    try:
        reader = pa_csv.open_csv(
            text, read_options=read_options, parse_options=parse_options, convert_options=convert_options
        )
        for batch in reader:
            rows_read += batch.num_rows
            yield batch
    except pa.ArrowInvalid as error:
        if guard.failure is not None and not guard.handed_out:
            return  # nothing readable after the header: pyarrow calls that an empty file
        raise bad_rows.error_for(error, rows_read) from error


def _with_metadata(
    batches: Iterator[pa.RecordBatch],
    names: list[str],
    header_lines: int,
    bad_rows: _BadRowCollector,
    guard: CsvRecordGuard,
) -> Iterator[pa.RecordBatch]:
    """Add the metadata columns and put each bad row back at its place among the good ones."""
    assembler = _Assembler(names, header_lines)
    pending = bad_rows.pending
    for batch in batches:
        start = 0
        # Bad row r goes right before the good row that would otherwise be record r. Bad rows of
        # later blocks (pyarrow parses ahead) stay pending until their batch comes.
        while pending and pending[0].record <= assembler.next_record + batch.num_rows - start:
            good = pending[0].record - assembler.next_record
            if good:
                yield assembler.good_rows(batch.slice(start, good))
                start += good
            yield assembler.bad_rows(_take_consecutive(pending, assembler.next_record))
        if start < batch.num_rows:
            yield assembler.good_rows(batch.slice(start))
    if pending:
        yield assembler.bad_rows(list(pending))
    if guard.failure is not None:
        yield assembler.final_error(f"{guard.failure}; the rest of the file could not be read")


def _take_consecutive(pending: deque[_BadRow], first: int) -> list[_BadRow]:
    taken: list[_BadRow] = []
    while pending and pending[0].record == first + len(taken):
        taken.append(pending.popleft())
    return taken


class _Assembler:
    """Numbers records in file order and tracks line breaks, so bad rows get their line number."""

    def __init__(self, names: list[str], header_lines: int) -> None:
        self.next_record = 1
        self._schema = output_schema(names)
        self._field_count = len(names)
        # Line of a record = header lines + its record number + line breaks inside earlier values.
        self._lines_before = header_lines

    def good_rows(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        count = batch.num_rows
        nulls = pa.nulls(count, pa.string())
        columns = [*batch.columns, record_numbers(self.next_record, count), nulls, nulls]
        self.next_record += count
        self._lines_before += sum(_line_breaks(column) for column in batch.columns)
        return pa.RecordBatch.from_arrays(columns, schema=self._schema)

    def bad_rows(self, rows: list[_BadRow]) -> pa.RecordBatch:
        count = len(rows)
        reasons = []
        for row in rows:
            line = self._lines_before + row.record
            reason = row.reason or f"expected {row.expected} fields, found {row.found}"
            reasons.append(f"line {line}: {reason}")
            self._lines_before += row.newlines
        nulls = pa.nulls(count, pa.string())
        columns = [
            *[nulls] * self._field_count,
            record_numbers(self.next_record, count),
            pa.array(reasons, pa.string()),
            pa.array([row.raw for row in rows], pa.string()),
        ]
        self.next_record += count
        return pa.RecordBatch.from_arrays(columns, schema=self._schema)

    def final_error(self, reason: str) -> pa.RecordBatch:
        """One error row for the part of the file that could not be read."""
        null = pa.nulls(1, pa.string())
        columns = [*[null] * self._field_count, record_numbers(self.next_record, 1), pa.array([reason]), null]
        self.next_record += 1
        return pa.RecordBatch.from_arrays(columns, schema=self._schema)


def _line_breaks(column: pa.Array) -> int:
    """Line breaks inside a string column's values, counted on its data buffer without a Python loop."""
    _, offsets, data = column.buffers()
    if data is None:
        return 0
    ends = memoryview(offsets).cast("i")
    first, last = ends[column.offset], ends[column.offset + len(column)]
    return bytes(memoryview(data)[first:last]).count(b"\n")
