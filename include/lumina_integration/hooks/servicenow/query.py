"""Encoded queries (``sysparm_query``) built only from discovered names, values escaped.

An encoded query is text the instance parses: ``^`` joins conditions, ``^OR`` / ``^NQ`` make alternatives,
``ORDERBY<field>`` sorts. So:

- a field or table name reaches a query only when the catalogue returned it (:func:`checked`): a name from a
  spec or a plan that the instance does not know is refused here, not silently ignored (the instance ignores
  a condition on an unknown field and returns *more* rows);
- a value has every ``^`` doubled (``^^`` is the literal caret), cannot contain a line break, and may not be
  ``javascript:`` (which the instance would evaluate as a script);
- ``IN`` lists are of sys_ids, which are 32 hex characters, checked, since a comma in a value cannot be escaped;
- datetimes are glide datetimes in UTC (``YYYY-MM-DD HH:MM:SS``), the instance's stored form.

Windows are half-open ``[start, end)`` on whole seconds (glide datetimes have no fraction): the lower bound is
the start's second, *included* (writes later in that second carry the same stamp), the upper bound the first
whole second at or after the end, excluded. Keyset pages continue strictly after ``(stamp, sys_id)``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import UTC, datetime, timedelta

from lumina_integration.hooks.base import StopRun

GLIDE_FORMAT = "%Y-%m-%d %H:%M:%S"
_SYS_ID = re.compile(r"[0-9a-f]{32}")
_ONE_SECOND = timedelta(seconds=1)


class UnknownName(StopRun):
    """A table or field name the instance's catalogue does not list."""


class UnsafeValue(ValueError):
    """A value an encoded query cannot carry safely."""


def checked(name: str, allowed: Collection[str], what: str) -> str:
    """``name`` if the catalogue lists it (exact: ServiceNow names are lower case), else :class:`UnknownName`."""
    if name in allowed:
        return name
    raise UnknownName(f"{what} {name!r} is not in the instance's catalogue")


def value(text: str) -> str:
    """A value as an encoded query carries it (see the module docstring)."""
    if "\n" in text or "\r" in text:
        raise UnsafeValue("a line break cannot travel in an encoded query")
    if text.strip().lower().startswith("javascript:"):
        raise UnsafeValue("javascript: values are evaluated by the instance; refusing to send one")
    return text.replace("^", "^^")


def sys_ids(ids: Iterable[str]) -> str:
    """A comma list of sys_ids for ``IN``; anything but 32 hex characters is refused."""
    items = list(ids)
    bad = [i for i in items if not _SYS_ID.fullmatch(i)]
    if bad:
        raise UnsafeValue(f"not sys_ids (32 hex characters): {bad[:3]}")
    return ",".join(items)


def glide(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(GLIDE_FORMAT)


def parse_glide(text: str) -> datetime:
    return datetime.strptime(text, GLIDE_FORMAT).replace(tzinfo=UTC)


def floor_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def ceil_second(moment: datetime) -> datetime:
    floored = floor_second(moment)
    return floored if floored == moment else floored + _ONE_SECOND


class Query:
    """One encoded query over a table whose field names are ``allowed``."""

    def __init__(self, allowed: Collection[str], what: str) -> None:
        self.allowed, self.what = allowed, what
        self.groups: list[list[str]] = [[]]
        self.order: list[str] = []

    def _name(self, name: str) -> str:
        return checked(name, self.allowed, f"field of {self.what}")

    def where(self, name: str, operator: str, text: str) -> Query:
        if operator not in ("=", "!=", ">", ">=", "<", "<=", "IN", "STARTSWITH"):
            raise ValueError(f"operator {operator!r} is not used by this adapter")
        self.groups[-1].append(f"{self._name(name)}{operator}{value(text)}")
        return self

    def where_in(self, name: str, ids: Iterable[str]) -> Query:
        """``name`` is one of ``ids`` (sys_ids)."""
        self.groups[-1].append(f"{self._name(name)}IN{sys_ids(ids)}")
        return self

    def where_named(self, name: str, listed: Iterable[str]) -> Query:
        """``name`` is one of ``listed`` (table or field names)."""
        self.groups[-1].append(f"{self._name(name)}IN{names(listed)}")
        return self

    def new_query(self) -> Query:
        """Start an alternative (``^NQ``): rows matching any group are returned."""
        self.groups.append([])
        return self

    def order_by(self, *names: str) -> Query:
        self.order.extend(f"ORDERBY{self._name(n)}" for n in names)
        return self

    def text(self) -> str:
        groups = ["^".join(g) for g in self.groups if g]
        return "^".join(p for p in ("^NQ".join(groups), "^".join(self.order)) if p)


def window_query(
    allowed: Collection[str],
    what: str,
    start: datetime | None,
    end: datetime,
    *,
    after: tuple[str, str] | None = None,
    cursor: str = "sys_updated_on",
    key: str = "sys_id",
    extra: Iterable[tuple[str, str, str]] = (),
    ordered: bool = True,
) -> str:
    """Rows of ``[start, end)`` by ``cursor`` (whole seconds, see the module docstring) strictly after
    ``after`` = ``(stamp, sys_id)``, ordered by ``(cursor, key)`` (unless not ``ordered``: a count); ``extra``
    conditions apply to every group."""
    upper = glide(ceil_second(end))
    lower = glide(floor_second(start)) if start is not None else None
    q = Query(allowed, what)

    def common() -> None:
        for name, op, text in extra:
            q.where(name, op, text)
        q.where(cursor, "<", upper)

    if after is None:
        common()
        if lower is not None:
            q.where(cursor, ">=", lower)
    else:
        stamp, last = after
        # (cursor > stamp) OR (cursor = stamp AND key > last): the keyset, as two alternative queries.
        common()
        q.where(cursor, ">", stamp)
        q.new_query()
        common()
        q.where(cursor, "=", stamp).where(key, ">", last)
    return (q.order_by(cursor, key) if ordered else q).text()


_NAME = re.compile(r"[a-z][a-z0-9_]{0,79}")


def names(items: Iterable[str]) -> str:
    """A comma list of table or field names for ``IN`` (catalogue names only: letters, digits, underscores)."""
    listed = list(items)
    bad = [n for n in listed if not _NAME.fullmatch(n)]
    if bad:
        raise UnsafeValue(f"not ServiceNow names: {bad[:3]}")
    return ",".join(listed)
