"""SOQL built only from discovered identifiers and escaped values.

Identifiers (objects, fields) must be in the allow-list that ``describe`` returned; values are
escaped per Salesforce's rules or rendered as typed literals. Nothing from a spec or a record is
ever pasted into a query as is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\b": "\\b", "\f": "\\f"}


class UnknownIdentifier(ValueError):
    """An object or field that discovery did not return."""


def quote_string(value: str) -> str:
    """A SOQL string literal."""
    return "'" + "".join(_ESCAPES.get(ch, ch) for ch in value) + "'"


def datetime_literal(value: datetime) -> str:
    """A SOQL datetime literal (unquoted, UTC)."""
    if value.tzinfo is None:
        raise ValueError("SOQL datetimes must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def checked(name: str, allowed: Iterable[str], what: str) -> str:
    """Return the allow-listed spelling of ``name`` (SOQL identifiers are case-insensitive)."""
    by_lower = {a.lower(): a for a in allowed}
    try:
        return by_lower[name.lower()]
    except KeyError:
        raise UnknownIdentifier(f"{what} {name!r} is not among the discovered ones") from None


def select_window(
    sobject: str,
    fields: list[str],
    cursor: str,
    start: datetime | None,
    end: datetime,
    *,
    allowed_objects: Iterable[str],
    allowed_fields: Iterable[str],
) -> str:
    """``SELECT fields FROM obj WHERE start <= cursor < end ORDER BY cursor, Id``.

    The lower bound is closed: records sharing the boundary timestamp are read again and the
    merge dedupes them, where a strict ``>`` would miss the ones committed after the last read.
    """
    allowed = list(allowed_fields)
    obj = checked(sobject, allowed_objects, "sObject")
    columns = [checked(f, allowed, f"field of {obj}") for f in fields]
    cursor_field = checked(cursor, allowed, f"field of {obj}")
    conditions = [f"{cursor_field} < {datetime_literal(end)}"]
    if start is not None:
        conditions.insert(0, f"{cursor_field} >= {datetime_literal(start)}")
    return (
        f"SELECT {', '.join(columns)} FROM {obj} WHERE {' AND '.join(conditions)} ORDER BY {cursor_field} ASC, Id ASC"
    )


def count_window(
    sobject: str,
    cursor: str,
    start: datetime | None,
    end: datetime,
    *,
    allowed_objects: Iterable[str],
    allowed_fields: Iterable[str],
) -> str:
    select = select_window(
        sobject, ["Id"], cursor, start, end, allowed_objects=allowed_objects, allowed_fields=allowed_fields
    )
    where = select[select.index(" WHERE ") : select.index(" ORDER BY ")]
    return f"SELECT COUNT() FROM {checked(sobject, allowed_objects, 'sObject')}{where}"
