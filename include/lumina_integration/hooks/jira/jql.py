"""JQL built from discovered identifiers and escaped values only.

- Field names come from the site's catalogue (:meth:`~.fields.Catalogue.clause_names`); a name it does
  not list is refused, never quoted into the query.
- Every value is a JQL string literal: wrapped in double quotes, backslashes and quotes escaped, line
  breaks refused (JQL has no escape for them that every version reads alike).
- JQL compares ``updated`` to the minute, in the time zone of the API user's profile. A window is
  therefore a closed lower bound on the minute at or before its start, and an upper bound on the minute
  at or after its end; the reader drops what lies past the exact end and dedupes the overlap
  (:class:`~.reader.MinuteDedupe`). Minutes are written in the user's zone; where a wall-clock minute
  is ambiguous (the hour a DST change repeats), the bound moves out by an hour so that either reading
  of it still covers the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from lumina_integration.hooks.jira.options import JqlCondition

JQL_MINUTE = "%Y-%m-%d %H:%M"
# The new search endpoint refuses an unbounded query: a first load is bounded by the epoch.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ESCAPES = {"\\": "\\\\", '"': '\\"'}


class JqlError(ValueError):
    """A condition that cannot be written as safe JQL (an unknown field, a value with a line break)."""


def literal(value: str | int | float) -> str:
    """``value`` as a quoted JQL string, backslashes and quotes escaped."""
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    if any(c in text for c in "\r\n\t\x00"):
        raise JqlError(f"a JQL value may not contain line breaks, tabs or NUL: {text[:40]!r}")
    return '"' + "".join(_ESCAPES.get(c, c) for c in text) + '"'


def field_name(name: str, allowed: set[str]) -> str:
    """``name`` when the catalogue lists it as searchable; names with anything but word characters are quoted."""
    if name not in allowed:
        raise JqlError(f"{name!r} is not a searchable field of this site (the field catalogue does not list it)")
    if name.replace("_", "").replace(".", "").isalnum():
        return name
    return literal(name)  # cf[10010] and names with spaces are quoted in JQL


def _floor_minute(instant: datetime) -> datetime:
    return instant.replace(second=0, microsecond=0)


def _ceil_minute(instant: datetime) -> datetime:
    floor = _floor_minute(instant)
    return floor if floor == instant else floor + timedelta(minutes=1)


def _ambiguous(wall: datetime, zone: ZoneInfo) -> bool:
    naive = wall.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return first != second


def minute_literal(instant: datetime, zone: ZoneInfo, *, lower: bool) -> str:
    """The JQL minute for a bound: floored (lower) or ceiled (upper) in ``zone``, safe across DST repeats."""
    wall = instant.astimezone(zone)
    if _ambiguous(wall, zone):
        wall = (instant - timedelta(hours=1) if lower else instant + timedelta(hours=1)).astimezone(zone)
    wall = _floor_minute(wall) if lower else _ceil_minute(wall)
    return literal(wall.strftime(JQL_MINUTE))


@dataclass(frozen=True)
class IssueQuery:
    """What one issue search selects, before it is written as JQL."""

    lower: datetime | None  # inclusive, None: from the epoch
    upper: datetime | None  # exclusive (the reader drops what lies past it exactly), None: no bound
    projects: tuple[str, ...] = ()
    conditions: tuple[JqlCondition, ...] = ()
    ids: tuple[str, ...] = ()


def condition(c: JqlCondition, allowed: set[str]) -> str:
    name = field_name(c.field, allowed)
    op = c.op.upper() if c.op[0].isalpha() else c.op
    if c.value is None:
        return f"{name} {op} EMPTY"
    if isinstance(c.value, list):
        return f"{name} {op} ({', '.join(literal(v) for v in c.value)})"
    return f"{name} {op} {literal(c.value)}"


def issue_jql(query: IssueQuery, zone: ZoneInfo, allowed: set[str]) -> str:
    """The JQL of ``query``: window on ``updated``, projects, conditions, ``ORDER BY updated ASC, id ASC``.

    Raises:
        JqlError: a condition on a field the catalogue does not list, or an unwritable value.
    """
    parts = [f"updated >= {minute_literal(query.lower or EPOCH, zone, lower=True)}"]
    if query.upper is not None:
        parts.append(f"updated < {minute_literal(query.upper, zone, lower=False)}")
    if query.projects:
        parts.append(f"project in ({', '.join(literal(p) for p in query.projects)})")
    if query.ids:
        if not all(i.isdigit() for i in query.ids):
            raise JqlError("issue ids are numbers")
        parts.append(f"id in ({', '.join(query.ids)})")
    parts.extend(f"({condition(c, allowed)})" for c in query.conditions)
    return " AND ".join(parts) + " ORDER BY updated ASC, id ASC"


def check_conditions(conditions: Sequence[JqlCondition], allowed: set[str]) -> None:
    """Refuse a ``jql_filter`` the site cannot take before anything is read."""
    for c in conditions:
        condition(c, allowed)
