"""Vectorised casts from source text to canonical Arrow types, reporting which values failed.

A value that cannot be cast must not fail the whole batch or turn silently into null: the row
is quarantined with its reason. The fast path is one Arrow cast of the whole column; only when
that fails do we bisect the column to find the bad values, so the cost is proportional to the
number of bad values (times log n), never a Python loop over every row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lumina_integration.transforms.formats import is_registered, value_cast

# An offset only counts after a time of day: "2024-01-01" ends in "-01" but has no offset.
_OFFSET_SUFFIX = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)$"


class CastResult:
    """The cast column and a boolean mask of the positions whose source value was invalid.

    ``hint`` says what a valid value looks like, for the quarantine reason (registered value formats).
    """

    def __init__(self, values: pa.Array, invalid: pa.Array, hint: str | None = None):
        self.values = values
        self.invalid = invalid
        self.hint = hint


def _bisect_failures(values: pa.Array, cast: Callable[[pa.Array], pa.Array]) -> list[int]:
    """Positions in ``values`` whose cast raises (``values`` already failed as a whole)."""
    if len(values) == 1:
        return [0]
    middle = len(values) // 2
    failures: list[int] = []
    for offset, part in ((0, values.slice(0, middle)), (middle, values.slice(middle))):
        try:
            cast(part)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
            failures.extend(offset + i for i in _bisect_failures(part, cast))
    return failures


def none_invalid(n: int) -> pa.Array:
    """An all-false validity flag, built by Arrow (a Python list of n bools costs far more)."""
    return pa.repeat(False, n)


def _cast_with_failures(values: pa.Array, cast: Callable[[pa.Array], pa.Array]) -> CastResult:
    try:
        result = cast(values)
        return CastResult(result, none_invalid(len(values)))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        pass
    bad = _bisect_failures(values, cast)
    mask = [False] * len(values)
    for position in bad:
        mask[position] = True
    invalid = pa.array(mask, pa.bool_())
    cleaned = pc.if_else(invalid, pa.scalar(None, values.type), values)
    return CastResult(cast(cleaned), invalid)


def _strict_strptime(values: pa.Array, fmt: str) -> pa.Array:
    """strptime that refuses what it would silently roll over (Arrow reads 2023-02-29 as March 1st).

    The parsed value must print back as exactly the source text, so formats are strict about
    zero padding too: "1.3.2024" does not match "%d.%m.%Y" (write "01.03.2024").
    """
    parsed = pc.strptime(values, format=fmt, unit="us" if "%f" in fmt else "s")
    round_trip = pc.strftime(parsed, format=fmt)
    if not pc.all(pc.equal(round_trip, values), skip_nulls=True, min_count=0).as_py():
        raise pa.ArrowInvalid(f"text does not match the format {fmt!r} exactly")
    return parsed


def _timestamp_cast(fmt: str | None, timezone: str) -> Callable[[pa.Array], pa.Array]:
    target = pa.timestamp("us", tz="UTC")

    def cast(values: pa.Array) -> pa.Array:
        if fmt is not None:
            parsed = _strict_strptime(values, fmt)
            if parsed.type.tz is None:
                parsed = pc.assume_timezone(parsed, timezone)
            return parsed.cast(target)
        # ISO 8601 with an offset is an instant; without one it is wall time in `timezone`.
        has_offset = pc.match_substring_regex(values, _OFFSET_SUFFIX)
        with_offset = pc.if_else(has_offset, values, pa.scalar(None, pa.string())).cast(target)
        naive = pc.if_else(has_offset, pa.scalar(None, pa.string()), values).cast(pa.timestamp("us"))
        local = pc.assume_timezone(naive, timezone).cast(target)
        return pc.coalesce(with_offset, local)

    return cast


def _date_cast(fmt: str | None) -> Callable[[pa.Array], pa.Array]:
    def cast(values: pa.Array) -> pa.Array:
        if fmt is None:
            return pc.cast(values, pa.date32())  # strict ISO 8601 dates
        return _strict_strptime(values, fmt).cast(pa.date32())

    return cast


def _boolean_cast(true_values: list[str], false_values: list[str]) -> Callable[[pa.Array], pa.Array]:
    truthy = pa.array([v.lower() for v in true_values], pa.string())
    falsy = pa.array([v.lower() for v in false_values], pa.string())

    def cast(values: pa.Array) -> pa.Array:
        lowered = pc.utf8_lower(values)
        is_true = pc.is_in(lowered, value_set=truthy)
        is_false = pc.is_in(lowered, value_set=falsy)
        unknown = pc.and_(pc.is_valid(values), pc.invert(pc.or_(is_true, is_false)))
        if pc.any(unknown).as_py():
            raise pa.ArrowInvalid("not a recognised boolean")
        return pc.if_else(pc.is_valid(values), is_true, pa.scalar(None, pa.bool_()))

    return cast


def cast_any(values: pa.Array, target: pa.DataType, **text_options: Any) -> CastResult:
    """Cast a column of any type: text goes through :func:`cast_text`, typed sources cast directly.

    Typed sources (an adapter that already typed its raw batches from the source's metadata)
    keep their values untouched when the types agree.
    """
    fmt = text_options.get("fmt")
    if is_registered(fmt):
        # A source's value format applies even when the types already agree (NUMC text stays text, but checked).
        return value_cast(fmt)(values, target, text_options.get("timezone") or "UTC")
    if values.type == target:
        return CastResult(values, none_invalid(len(values)))
    if pa.types.is_string(values.type):
        return cast_text(values, target, **text_options)
    return _cast_with_failures(values, lambda v: pc.cast(v, target))


def cast_text(
    values: pa.Array,
    target: pa.DataType,
    *,
    fmt: str | None = None,
    timezone: str = "UTC",
    true_values: list[str] | None = None,
    false_values: list[str] | None = None,
) -> CastResult:
    """Cast a string column to ``target``; invalid values become null and are flagged."""
    if pa.types.is_string(target):
        return CastResult(values, none_invalid(len(values)))
    trimmed = pc.utf8_trim_whitespace(values)
    # An empty text in a typed column is "no value", not a malformed value.
    trimmed = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    cast: Callable[[pa.Array], pa.Array]
    if pa.types.is_timestamp(target):
        cast = _timestamp_cast(fmt, timezone)
    elif pa.types.is_date(target):
        cast = _date_cast(fmt)
    elif pa.types.is_boolean(target):
        cast = _boolean_cast(true_values or ["true"], false_values or ["false"])
    else:

        def cast(v: pa.Array) -> pa.Array:
            return pc.cast(v, target)

    return _cast_with_failures(trimmed, cast)
