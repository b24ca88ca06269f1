"""SOQL built only from discovered identifiers and escaped values.

Identifiers (objects, fields) must be in the allow-list that ``describe`` returned; values are
escaped per Salesforce's rules or rendered as typed literals. Nothing from a spec or a record is
ever pasted into a query as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

# Salesforce API names (objects and fields, namespaced and custom ones included: ns__Invoice__c) are one
# token of letters, digits and underscores starting with a letter. Anything else (a space before a
# keyword, a quote, a comment marker, a comma, a dot) cannot be an identifier.
_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,254}")
_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\b": "\\b", "\f": "\\f"}


class UnknownIdentifier(ValueError):
    """An object or field that discovery did not return."""


class InvalidIdentifier(UnknownIdentifier):
    """A name that cannot be a Salesforce API name at all (so no org could have returned it)."""


def api_name(name: str, what: str) -> str:
    """``name`` if it has the shape of a Salesforce API name; raises :class:`InvalidIdentifier`.

    The one rule for names written in a spec: ``lumina lint`` applies it to ``source.object`` and
    ``source.options.fields`` (no org needed), and every query applies it again before the allow-list.
    """
    if not isinstance(name, str) or not _API_NAME.fullmatch(name):
        raise InvalidIdentifier(
            f"{what} {name!r} is not a Salesforce API name (one word of letters, digits and underscores, "
            "starting with a letter: no spaces, SOQL keywords, quotes or comment markers)"
        )
    return name


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
    api_name(name, what)
    by_lower = {a.lower(): a for a in allowed}
    try:
        return by_lower[name.lower()]
    except KeyError:
        raise UnknownIdentifier(f"{what} {name!r} is not among the discovered ones") from None


def _select(
    sobject: str,
    fields: list[str],
    conditions: list[str],
    order_by: list[str],
    *,
    allowed_objects: Iterable[str],
    allowed_fields: list[str],
) -> str:
    obj = checked(sobject, allowed_objects, "sObject")
    columns = [checked(f, allowed_fields, f"field of {obj}") for f in fields]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    ordered = [f"{checked(o, allowed_fields, 'field of ' + obj)} ASC" for o in order_by]
    order = f" ORDER BY {', '.join(ordered)}" if ordered else ""
    return f"SELECT {', '.join(columns)} FROM {obj}{where}{order}"


IdRange = tuple[str | None, str | None]
"""``[low, high)`` on ``Id`` (None: unbounded on that side): a slice of a window too dense to read by time."""


def _cursor_range(cursor: str, start: datetime | None, end: datetime, ids: IdRange | None = None) -> list[str]:
    conditions = [f"{cursor} < {datetime_literal(end)}"]
    if start is not None:
        conditions.insert(0, f"{cursor} >= {datetime_literal(start)}")
    low, high = ids or (None, None)
    if low is not None:
        conditions.append(f"Id >= {quote_string(low)}")
    if high is not None:
        conditions.append(f"Id < {quote_string(high)}")
    return conditions


def select_window(
    sobject: str,
    fields: list[str],
    cursor: str,
    start: datetime | None,
    end: datetime,
    *,
    allowed_objects: Iterable[str],
    allowed_fields: Iterable[str],
    ids: IdRange | None = None,
) -> str:
    """``SELECT fields FROM obj WHERE start <= cursor < end [AND low <= Id < high] ORDER BY cursor, Id``.

    The lower bound is closed: records sharing the boundary timestamp are read again and the
    merge dedupes them, where a strict ``>`` would miss the ones committed after the last read.
    """
    allowed = list(allowed_fields)
    cursor_field = checked(cursor, allowed, f"field of {sobject}")
    return _select(
        sobject,
        fields,
        _cursor_range(cursor_field, start, end, ids),
        [cursor_field, "Id"],
        allowed_objects=allowed_objects,
        allowed_fields=allowed,
    )


def count_window(
    sobject: str,
    cursor: str,
    start: datetime | None,
    end: datetime,
    *,
    allowed_objects: Iterable[str],
    allowed_fields: Iterable[str],
    ids: IdRange | None = None,
) -> str:
    allowed = list(allowed_fields)
    cursor_field = checked(cursor, allowed, f"field of {sobject}")
    obj = checked(sobject, allowed_objects, "sObject")
    return f"SELECT COUNT() FROM {obj} WHERE {' AND '.join(_cursor_range(cursor_field, start, end, ids))}"


def select_id_bound(
    sobject: str,
    cursor: str,
    start: datetime | None,
    end: datetime,
    *,
    last: bool,
    allowed_objects: Iterable[str],
    allowed_fields: Iterable[str],
    ids: IdRange | None = None,
) -> str:
    """The lowest (``last``: highest) ``Id`` of a window slice: where to split it by id range."""
    allowed = list(allowed_fields)
    cursor_field = checked(cursor, allowed, f"field of {sobject}")
    obj = checked(sobject, allowed_objects, "sObject")
    where = " AND ".join(_cursor_range(cursor_field, start, end, ids))
    return f"SELECT Id FROM {obj} WHERE {where} ORDER BY Id {'DESC' if last else 'ASC'} LIMIT 1"


def select_all(
    sobject: str, fields: list[str], *, allowed_objects: Iterable[str], allowed_fields: Iterable[str]
) -> str:
    """``SELECT fields FROM obj ORDER BY Id``: every record (id lists, column refreshes)."""
    return _select(sobject, fields, [], ["Id"], allowed_objects=allowed_objects, allowed_fields=list(allowed_fields))


def count_all(sobject: str, *, allowed_objects: Iterable[str]) -> str:
    return f"SELECT COUNT() FROM {checked(sobject, allowed_objects, 'sObject')}"


def select_by_ids(
    sobject: str,
    fields: list[str],
    ids: list[str],
    *,
    allowed_objects: Iterable[str],
    allowed_fields: Iterable[str],
) -> str:
    """``SELECT fields FROM obj WHERE Id IN (...)``; ids are escaped like any other value."""
    if not ids:
        raise ValueError("select_by_ids needs at least one id")
    listed = ", ".join(quote_string(i) for i in ids)
    return _select(
        sobject,
        fields,
        [f"Id IN ({listed})"],
        ["Id"],
        allowed_objects=allowed_objects,
        allowed_fields=list(allowed_fields),
    )


def select_earliest(sobject: str, cursor: str, *, allowed_objects: Iterable[str], allowed_fields: Iterable[str]) -> str:
    """The record with the oldest cursor value (a lower bound for splitting a first load)."""
    allowed = list(allowed_fields)
    cursor_field = checked(cursor, allowed, f"field of {sobject}")
    select = _select(
        sobject, [cursor_field], [], [cursor_field], allowed_objects=allowed_objects, allowed_fields=allowed
    )
    return f"{select} LIMIT 1"
