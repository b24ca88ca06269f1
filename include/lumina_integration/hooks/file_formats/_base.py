"""Options, metadata columns and batch assembly shared by every file format reader."""

from __future__ import annotations

import array
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal

import pyarrow as pa
from pydantic import ConfigDict, ValidationInfo, field_validator, model_validator

from lumina_integration.hooks.read_limits import ReadLimits

RECORD_NO = "_lumina_record_no"
ERROR = "_lumina_error"
RAW = "_lumina_raw"
METADATA_COLUMNS = (RECORD_NO, ERROR, RAW)

MAX_RAW_CHARS = 10_000
# Lone surrogates cannot be stored as UTF-8; they come from JSON escapes like "\ud800" and from bytes
# a decoder could not read (errors="surrogateescape").
SURROGATES = re.compile("[\ud800-\udfff]")


class MalformedFileError(ValueError):
    """The file cannot be read at all (wrong encoding, broken CSV structure...)."""


class FileFormatOptions(ReadLimits):
    """How to read one export file into raw string columns.

    Args:
        format: ``csv``, ``jsonl`` (one object per line), ``json`` (an array of objects) or ``xml``.
        encoding: text encoding of the file; a UTF-8 byte order mark is always skipped.
        delimiter: CSV field separator, one ASCII character.
        quote_char: CSV quote character, one ASCII character.
        record_path: JSON: dotted path to the records array inside the top-level object (None: the
            top level is the array). XML: tag of a record element, compared without namespace
            (None: every child of the root element). Ignored by csv and jsonl.
        null_values: CSV/XML: strings read as null besides the empty unquoted CSV field. Ignored by
            json and jsonl, where JSON ``null`` is the null.
        max_depth, max_record_bytes, max_file_bytes: see :class:`ReadLimits`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["csv", "jsonl", "json", "xml"]
    encoding: str = "utf-8"
    delimiter: str = ","
    quote_char: str = '"'
    record_path: str | None = None
    null_values: list[str] = []

    @field_validator("encoding")
    @classmethod
    def _text_encoding(cls, value: str) -> str:
        try:
            "".encode(value)
        except LookupError as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("delimiter", "quote_char")
    @classmethod
    def _one_ascii_character(cls, value: str, info: ValidationInfo) -> str:
        # pyarrow's CSV parser works on single bytes, so the character must be ASCII.
        if len(value) != 1 or not value.isascii() or value in "\r\n":
            raise ValueError(f"{info.field_name} must be one ASCII character other than a line break")
        return value

    @field_validator("record_path")
    @classmethod
    def _no_empty_path_parts(cls, value: str | None) -> str | None:
        if value is not None and not all(value.split(".")):
            raise ValueError(f"record_path {value!r} has an empty part")
        return value

    @model_validator(mode="after")
    def _delimiter_is_not_quote(self) -> FileFormatOptions:
        if self.delimiter == self.quote_char:
            raise ValueError("delimiter and quote_char must differ")
        return self


def unique_names(names: Sequence[str]) -> list[str]:
    """Make field names unique and keep them off the metadata columns: ``a, a, a`` -> ``a, a_2, a_3``."""
    originals = set(names)
    taken = set(METADATA_COLUMNS)
    result: list[str] = []
    for name in names:
        if name in taken:
            suffix = 2
            while f"{name}_{suffix}" in taken or f"{name}_{suffix}" in originals:
                suffix += 1
            name = f"{name}_{suffix}"
        taken.add(name)
        result.append(name)
    return result


def output_schema(field_names: Sequence[str]) -> pa.Schema:
    """Schema of a raw-zone batch: the string field columns, then the metadata columns."""
    fields = [pa.field(name, pa.string()) for name in field_names]
    return pa.schema(
        [*fields, pa.field(RECORD_NO, pa.int64()), pa.field(ERROR, pa.string()), pa.field(RAW, pa.string())]
    )


def record_numbers(first: int, count: int) -> pa.Array:
    """An int64 array ``first, first + 1, ...`` of ``count`` values."""
    # pa.array(range(...)) converts element by element and costs more than parsing the CSV.
    values = array.array("q", range(first, first + count))
    return pa.Array.from_buffers(pa.int64(), count, [None, pa.py_buffer(values)])


def string_array(values: list[str | None]) -> pa.Array:
    """A string array; lone surrogates (from JSON escapes or undecodable bytes) become U+FFFD."""
    try:
        return pa.array(values, pa.string())
    except UnicodeEncodeError:
        return pa.array([_scrub(value) for value in values], pa.string())


def _scrub(value: str | None) -> str | None:
    return None if value is None else SURROGATES.sub("\ufffd", value)


def truncate_raw(text: str) -> str:
    """The raw text of a bad record as stored in the RAW column."""
    return text[:MAX_RAW_CHARS]


class RowBatcher:
    """Collects records (field name -> source text) and error records into raw-zone batches.

    Columns appear in the order the file first used them, so batches of one file list their
    shared fields in the same order even when each batch has a different set of fields.
    """

    def __init__(self, batch_rows: int) -> None:
        self._batch_rows = batch_rows
        self._first_seen: dict[str, int] = {}
        self._rows: list[dict[str, str | None]] = []
        self._batch_fields: dict[str, object] = {}
        self._errors: list[str | None] = []
        self._raws: list[str | None] = []
        self._next_record_no = 1

    @property
    def next_record_no(self) -> int:
        """RECORD_NO the next added record will get."""
        return self._next_record_no + len(self._rows)

    def add(self, fields: dict[str, str | None]) -> pa.RecordBatch | None:
        """Add a parsed record; returns a full batch when ``batch_rows`` is reached."""
        self._batch_fields.update(fields)
        self._rows.append(fields)
        self._errors.append(None)
        self._raws.append(None)
        return self.flush() if len(self._rows) >= self._batch_rows else None

    def add_error(self, reason: str, raw: str | None) -> pa.RecordBatch | None:
        """Add a record that could not be parsed; returns a full batch when ``batch_rows`` is reached."""
        self._rows.append({})
        self._errors.append(reason)
        self._raws.append(None if raw is None else truncate_raw(raw))
        return self.flush() if len(self._rows) >= self._batch_rows else None

    def flush(self) -> pa.RecordBatch | None:
        """The batch of the records added since the last batch, or None when there are none."""
        count = len(self._rows)
        if not count:
            return None
        for name in self._batch_fields:
            self._first_seen.setdefault(name, len(self._first_seen))
        names = sorted(self._batch_fields, key=self._first_seen.__getitem__)
        rows = self._rows
        columns = [string_array([row.get(name) for row in rows]) for name in names]
        columns += [
            record_numbers(self._next_record_no, count),
            string_array(self._errors),
            string_array(self._raws),
        ]
        batch = pa.RecordBatch.from_arrays(columns, schema=output_schema(unique_names(names)))
        self._next_record_no += count
        self._rows, self._errors, self._raws, self._batch_fields = [], [], [], {}
        return batch


def rebatch(pieces: Iterable[pa.RecordBatch], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Regroup same-schema batches into batches of exactly ``batch_rows`` rows (the last may be short)."""
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    for piece in pieces:
        while piece.num_rows:
            take = min(batch_rows - pending_rows, piece.num_rows)
            pending.append(piece.slice(0, take))
            pending_rows += take
            piece = piece.slice(take)
            if pending_rows == batch_rows:
                yield _concat(pending)
                pending, pending_rows = [], 0
    if pending_rows:
        yield _concat(pending)


def _concat(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    return batches[0] if len(batches) == 1 else pa.concat_batches(batches)
