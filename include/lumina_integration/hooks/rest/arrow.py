"""JSON records to typed Arrow batches, by a field catalogue, in bounded memory, dropping nothing.

An adapter describes its columns once (:class:`FieldSpec`, from its system's field catalogue:
ServiceNow's ``sys_dictionary``, Jira's ``/field``) and hands :func:`records_to_batches` an iterator of
JSON records (decoded pages, flattened); it gets typed :class:`pyarrow.RecordBatch` es of at most
``batch_rows`` rows, one batch at a time, so memory follows the batch, never the extract.

How values become columns:

- A column whose JSON values already have the column's type (numbers for a number column, booleans
  for a boolean one, strings for a string one) is built by Arrow in one step.
- Everything else goes through text and the same vectorised cast as the file-drop and Salesforce
  paths (:func:`lumina_integration.transforms.casting.cast_text`): ServiceNow sends every value as a
  string, dates come as text, and a number that arrives as ``"42"`` is still 42.
- A value that does not fit its column is not dropped and does not fail the batch: its cell is null,
  and the row's ``_lumina_error`` says which field held what and why, with the record as JSON in
  ``_lumina_raw``. The transform step quarantines such rows with that reason, as it does for file
  rows (``_lumina_error`` is the file readers' convention; :mod:`lumina_integration.transforms.apply`).
- Objects and arrays in a string column are kept as JSON text (Jira's ADF bodies, ServiceNow's
  reference links). Their depth, item count and text size are bounded (:class:`NestingLimits`) by an
  explicit stack, never by recursion on the input; a value past a bound is null with its reason.
- Text with lone surrogates (``"\\ud800"`` escapes) keeps its other characters, the surrogate becoming
  U+FFFD, as in the file readers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import Any

import pyarrow as pa

from lumina_integration.hooks.file_formats._base import ERROR, MAX_RAW_CHARS, RAW, string_array
from lumina_integration.hooks.read_limits import DEFAULT_MAX_DEPTH, MAX_DEPTH_CAP
from lumina_integration.transforms.casting import cast_text

DEFAULT_BATCH_ROWS = 10_000
_SHOWN = 80  # characters of a bad value quoted in its reason
_NONE = type(None)
_TEXT_KINDS: frozenset[type] = frozenset({str, _NONE})
_SCALARS: frozenset[type] = frozenset({str, int, float, bool, _NONE})
# One encoder for every nested value: compact, unicode as is, and anything odd as its text.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


@dataclass(frozen=True)
class FieldSpec:
    """One column of a REST object, as the system's field catalogue describes it.

    Args:
        name: the column name in the batch.
        arrow_type: its Arrow type.
        path: the keys leading to the value in a record (None: the record's ``name`` key), e.g.
            ``("fields", "summary")`` for a Jira issue.
        fmt: the ``strptime`` format of a date or timestamp sent as text (None: ISO 8601).
        timezone: the zone of a timestamp text without an offset.
        true_values, false_values: the texts of a boolean sent as text.
        description: what the catalogue says the field is (for docs and drift messages).
    """

    name: str
    arrow_type: pa.DataType
    path: tuple[str, ...] | None = None
    fmt: str | None = None
    timezone: str = "UTC"
    true_values: tuple[str, ...] = ("true",)
    false_values: tuple[str, ...] = ("false",)
    description: str = ""

    @property
    def keys(self) -> tuple[str, ...]:
        return self.path or (self.name,)


@dataclass(frozen=True)
class NestingLimits:
    """Bounds on one nested value (an object or array) kept as JSON text.

    Args:
        max_depth: deepest nesting; the value itself is level 1 (at most 256).
        max_items: containers and scalars inside it, all levels together.
        max_chars: length of its JSON text.
    """

    max_depth: int = DEFAULT_MAX_DEPTH
    max_items: int = 100_000
    max_chars: int = 1 << 20

    def __post_init__(self) -> None:
        if not 1 <= self.max_depth <= MAX_DEPTH_CAP:
            raise ValueError(f"max_depth must lie in 1..{MAX_DEPTH_CAP}")


@dataclass
class _Problems:
    """Why each row of one batch is in error: row -> reasons."""

    by_row: dict[int, list[str]] = field(default_factory=dict)

    def add(self, row: int, reason: str) -> None:
        self.by_row.setdefault(row, []).append(reason)


def arrow_schema(fields: Sequence[FieldSpec]) -> pa.Schema:
    """The batches' schema: the fields in catalogue order, then ``_lumina_error`` and ``_lumina_raw``."""
    names = [f.name for f in fields]
    clash = {n for n in names if names.count(n) > 1} | ({ERROR, RAW} & set(names))
    if clash:
        raise ValueError(f"column names must be unique and not {ERROR}/{RAW}: {sorted(clash)}")
    return pa.schema(
        [*(pa.field(f.name, f.arrow_type) for f in fields), pa.field(ERROR, pa.string()), pa.field(RAW, pa.string())]
    )


def records_to_batches(
    records: Iterable[Any],
    fields: Sequence[FieldSpec],
    batch_rows: int = DEFAULT_BATCH_ROWS,
    *,
    limits: NestingLimits | None = None,
) -> Iterator[pa.RecordBatch]:
    """Typed batches of at most ``batch_rows`` records, pulled from ``records`` one batch at a time.

    ``records`` may be any iterable (a generator over pages, typically); it is never materialised.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    schema = arrow_schema(fields)
    limits = limits or NestingLimits()
    source = iter(records)
    while True:
        rows = list(islice(source, batch_rows))
        if not rows:
            return
        yield records_to_batch(rows, fields, schema=schema, limits=limits)


def records_to_batch(
    rows: Sequence[Any],
    fields: Sequence[FieldSpec],
    *,
    schema: pa.Schema | None = None,
    limits: NestingLimits | None = None,
) -> pa.RecordBatch:
    """One typed batch of ``rows`` (see the module docstring)."""
    schema = schema or arrow_schema(fields)
    limits = limits or NestingLimits()
    problems = _Problems()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.add(i, f"the record is a JSON {_json_kind(row)}, not an object")
    arrays = [_column(_values(rows, spec.keys), spec, limits, problems) for spec in fields]
    error, raw = _error_columns(rows, problems, limits)
    return pa.RecordBatch.from_arrays([*arrays, error, raw], schema=schema)


def _values(rows: Sequence[Any], keys: tuple[str, ...]) -> list[Any]:
    """The values of one field in every row (None where a row lacks it)."""
    if len(keys) == 1:
        # The common case, as one C-level loop: dict.get over every row.
        key = keys[0]
        return [r.get(key) if r.__class__ is dict else None for r in rows]
    return [_lookup(r, keys) for r in rows]


def _lookup(record: Any, keys: tuple[str, ...]) -> Any:
    value = record
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


# -- one column ----------------------------------------------------------------------------------------
def _native_kinds(target: pa.DataType) -> frozenset[type] | None:
    """The Python types JSON decoding yields that Arrow converts to ``target`` exactly, or None."""
    if pa.types.is_string(target) or pa.types.is_large_string(target):
        return _TEXT_KINDS
    if pa.types.is_integer(target):
        return frozenset({int, _NONE})  # not bool (an int subclass): its type differs, checked by class
    if pa.types.is_floating(target):
        return frozenset({int, float, _NONE})
    if pa.types.is_boolean(target):
        return frozenset({bool, _NONE})
    return None


def _column(values: list[Any], spec: FieldSpec, limits: NestingLimits, problems: _Problems) -> pa.Array:
    target = spec.arrow_type
    native = _native_kinds(target)
    kinds = {v.__class__ for v in values}
    if native is not None and kinds <= native:
        try:
            if native is _TEXT_KINDS:
                return string_array(values).cast(target)
            return pa.array(values, target)
        except (pa.ArrowInvalid, OverflowError):
            pass  # an integer out of range: found and reported value by value below
    # Text already (the Table API's raw values) is cast below in one step; anything else value by value.
    texts = values if kinds <= _TEXT_KINDS else [_text(i, v, spec, limits, problems) for i, v in enumerate(values)]
    if pa.types.is_string(target) or pa.types.is_large_string(target):
        return string_array(texts).cast(target)
    result = cast_text(
        string_array(texts),
        target,
        fmt=spec.fmt,
        timezone=spec.timezone,
        true_values=list(spec.true_values),
        false_values=list(spec.false_values),
    )
    if result.invalid.true_count:
        hint = f" ({result.hint})" if result.hint else ""
        for i, bad in enumerate(result.invalid.to_pylist()):
            if bad:
                problems.add(i, f"{spec.name}: {_shown(values[i])} is not a valid {target}{hint}")
    return result.values


def _text(row: int, value: Any, spec: FieldSpec, limits: NestingLimits, problems: _Problems) -> str | None:
    """The text of one value for a cast (None for null, and for a value in error, with its reason)."""
    kind = value.__class__
    if kind is str or value is None:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is float:
        # Decimal, not repr: 1e-07 is not a text a decimal cast reads.
        return format(Decimal(repr(value)), "f") if value == value and abs(value) != float("inf") else repr(value)
    if kind is int:
        return str(value)
    if isinstance(value, dict | list):
        if not (pa.types.is_string(spec.arrow_type) or pa.types.is_large_string(spec.arrow_type)):
            problems.add(row, f"{spec.name}: a JSON {_json_kind(value)} where {spec.arrow_type} was expected")
            return None
        text, problem = bounded_json(value, limits)
        if problem is not None:
            problems.add(row, f"{spec.name}: {problem}")
        return text
    return str(value)


# -- nested values, without recursion -------------------------------------------------------------------
def bounded_json(value: Any, limits: NestingLimits) -> tuple[str | None, str | None]:
    """``value`` as compact JSON text, or (None, why) when it breaks a bound of ``limits``.

    The bounds are checked by walking the value with an explicit stack first, so the encoder (which
    recurses) only ever sees a value no deeper than ``max_depth``.
    """
    flat = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    if flat and len(flat) < limits.max_items and all(v.__class__ in _SCALARS for v in flat):
        # One level of scalars (a reference link, a list of labels): the bounds reduce to the text's size.
        text = _encode(value)
        return (text, None) if len(text) <= limits.max_chars else (None, _too_long(limits))
    stack: list[tuple[Any, int]] = [(value, 1)]
    items = chars = 0
    while stack:
        current, depth = stack.pop()
        items += 1
        if items > limits.max_items:
            return None, f"a nested value of more than max_items={limits.max_items} items"
        if isinstance(current, dict):
            children: Iterable[Any] = current.values()
            chars += sum(len(k) + 4 for k in current if isinstance(k, str))
        elif isinstance(current, list | tuple):
            children = current
        else:
            chars += len(current) if isinstance(current, str) else 8
            if chars > limits.max_chars:
                return None, _too_long(limits)
            continue
        if depth > limits.max_depth:
            return None, f"a nested value deeper than max_depth={limits.max_depth}"
        stack.extend((child, depth + 1) for child in children)
    text = _encode(value)
    return (text, None) if len(text) <= limits.max_chars else (None, _too_long(limits))


def _too_long(limits: NestingLimits) -> str:
    return f"a nested value longer than max_chars={limits.max_chars}"


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return {str: "string", bool: "boolean", int: "number", float: "number", _NONE: "null"}.get(
        value.__class__, type(value).__name__
    )


def _shown(value: Any) -> str:
    """A bad value for its reason: texts quoted, other JSON scalars as they are, long ones cut."""
    text = repr(value) if isinstance(value, str) else json.dumps(value)
    return text[:_SHOWN] + ("..." if len(text) > _SHOWN else "")


def _error_columns(rows: Sequence[Any], problems: _Problems, limits: NestingLimits) -> tuple[pa.Array, pa.Array]:
    """``_lumina_error`` and ``_lumina_raw``: null for good rows, the reasons and the record for the rest."""
    n = len(rows)
    if not problems.by_row:
        return pa.nulls(n, pa.string()), pa.nulls(n, pa.string())
    errors: list[str | None] = [None] * n
    raws: list[str | None] = [None] * n
    for i, reasons in problems.by_row.items():
        errors[i] = "; ".join(reasons)
        text, problem = bounded_json(rows[i], limits)
        raws[i] = text[:MAX_RAW_CHARS] if text is not None else f"(not kept: {problem})"
    return string_array(errors), string_array(raws)
