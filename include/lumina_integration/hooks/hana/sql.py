"""Extraction SQL as SQLAlchemy Core statements over reflected tables.

Every identifier comes from a reflected :class:`~sqlalchemy.Table` (the database's own catalogue),
and every value is a bound parameter; the same statements run on HANA (sqlalchemy-hana) and on
the SAP-shaped sandbox database. Change stamps are SAP text (``YYYYMMDD`` + ``HHMMSS``), so a
record's cursor is the 14-character text ``YYYYMMDDHHMMSS`` in the system's time zone: it sorts
like the instant it stands for, and it needs no date functions that differ between databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    table,
    true,
)

CURSOR = "_lumina_cursor"  # the raw column
CURSOR_LABEL = "LUMINA_CURSOR"  # its SQL label (HANA identifiers start with a letter)
NO_DATE = "00000000"
MIDNIGHT = "000000"
BEGINNING = NO_DATE + MIDNIGHT
CHANGED_DELETED = "D"


def col(source: FromClause, name: str) -> ColumnElement[Any]:
    """A column by its SAP name, whatever case the dialect reflected it in (sqlalchemy-hana reports
    HANA's upper-case names in lower case; a sandbox keeps them as created)."""
    try:
        return source.c[name]
    except KeyError:
        for column in source.c:
            if column.name.upper() == name.upper():
                return column
        raise


def _const(text: str) -> ColumnElement[str]:
    """A fixed SAP initial value ('00000000'): a SQL literal, not user input, so it can sit in
    ORDER BY on every database (some refuse untyped parameters there)."""
    assert text.isdigit()
    return literal_column(f"'{text}'", String)


@dataclass(frozen=True)
class ChangeDocTables:
    cdhdr: Table
    cdpos: Table
    object_class: str
    object_id: str
    deletions: bool


@dataclass(frozen=True)
class TextJoin:
    table: Table
    columns: list[str]
    languages: list[str]
    on: list[str]  # key columns shared with the main table (client included)
    language_column: str = "SPRAS"


@dataclass(frozen=True)
class ReadPlan:
    """What one table read selects, resolved against the reflected catalogue."""

    table: Table
    columns: list[str]
    key: list[str]
    client_column: str | None
    changed: list[tuple[str, str | None]]
    change_docs: ChangeDocTables | None = None
    tcurx: Table | None = None
    currency_keys: list[str] = field(default_factory=list)
    texts: TextJoin | None = None

    @cached_property
    def currency_aliases(self) -> dict[str, FromClause]:
        """One TCURX alias per currency key column (built once: each alias object is one FROM)."""
        if self.tcurx is None:
            return {}
        return {key: self.tcurx.alias(f"TCURX_{key}") for key in self.currency_keys}

    @cached_property
    def text_aliases(self) -> list[tuple[str, FromClause]]:
        """One text-table alias per language, in order of preference."""
        if self.texts is None:
            return []
        return [(language, self.texts.table.alias(f"TXT_{i}")) for i, language in enumerate(self.texts.languages)]

    @property
    def date_only(self) -> bool:
        """Whether any stamp lacks a time: then windows start at midnight (day granularity)."""
        return any(time is None for _, time in self.changed)


def latest(parts: Sequence[ColumnElement[str]]) -> ColumnElement[str]:
    """The greatest of several stamps, as nested CASEs (GREATEST is not everywhere)."""
    best = parts[0]
    for part in parts[1:]:
        best = case((part > best, part), else_=best)
    return best


def _stamp(table: FromClause, date: str, time: str | None) -> ColumnElement[str]:
    # A column appended to an SAP table after go-live is NULL (not '00000000') in old rows.
    day = func.coalesce(col(table, date), _const(NO_DATE))
    return day + (func.coalesce(col(table, time), _const(MIDNIGHT)) if time else _const(MIDNIGHT))


def _change_doc_stamps(plan: ReadPlan, client: str | None, low: str | None) -> FromClause:
    docs = plan.change_docs
    assert docs is not None
    h = docs.cdhdr
    stamp = col(h, "UDATE") + col(h, "UTIME")
    conditions = [col(h, "OBJECTCLAS") == bindparam("cd_class", docs.object_class)]
    if client is not None:
        conditions.append(col(h, "MANDANT") == bindparam("cd_client", client))
    if low is not None:
        # Only the stamps that can put a record into this window matter (CDHDR is huge).
        conditions.append(stamp >= bindparam("cd_low", low))
    return (
        select(col(h, "OBJECTID"), func.max(stamp).label("STAMP"))
        .where(and_(*conditions))
        .group_by(col(h, "OBJECTID"))
        .subquery("CD")
    )


def _stamped(plan: ReadPlan, client: str | None, low: str | None) -> tuple[FromClause, ColumnElement[str]]:
    """The table joined with its change-document stamps, and the cursor expression."""
    t = plan.table
    joined: FromClause = t
    stamps = [_stamp(t, d, tm) for d, tm in plan.changed]
    if plan.change_docs is not None:
        cd = _change_doc_stamps(plan, client, low)
        joined = joined.outerjoin(cd, col(cd, "OBJECTID") == col(t, plan.change_docs.object_id))
        stamps.append(func.coalesce(col(cd, "STAMP"), _const(BEGINNING)))
    return joined, latest(stamps)


def _source(plan: ReadPlan, client: str | None, low: str | None) -> tuple[FromClause, ColumnElement[str]]:
    """The FROM clause (table + joins) and the cursor expression."""
    t = plan.table
    joined, cursor = _stamped(plan, client, low)
    for key, rates in plan.currency_aliases.items():
        joined = joined.outerjoin(rates, col(rates, "CURRKEY") == col(t, key))
    if plan.texts is not None:
        texts = plan.texts
        for i, (language, alias) in enumerate(plan.text_aliases):
            on = [col(alias, k) == col(t, k) for k in texts.on]
            on.append(col(alias, texts.language_column) == bindparam(f"language_{i}", language))
            joined = joined.outerjoin(alias, and_(*on))
    return joined, cursor


def selected_columns(plan: ReadPlan, cursor: ColumnElement[str]) -> list[ColumnElement[Any]]:
    t = plan.table
    out: list[ColumnElement[Any]] = [col(t, c).label(c.upper()) for c in plan.columns]
    for key, rates in plan.currency_aliases.items():
        out.append(col(rates, "CURRDEC").label(f"{key}_CURRDEC"))
    if plan.texts is not None:
        for language, alias in plan.text_aliases:
            out.extend(col(alias, c).label(f"{c.upper()}__{language}") for c in plan.texts.columns)
    out.append(cursor.label(CURSOR_LABEL))
    return out


def _client_filter(plan: ReadPlan, client: str | None) -> list[ColumnElement[bool]]:
    if plan.client_column is None or client is None:
        return []
    return [col(plan.table, plan.client_column) == bindparam("client", client)]


def _after(cursor: ColumnElement[str], keys: list[ColumnElement[Any]], last: Sequence[Any]) -> ColumnElement[bool]:
    """``(cursor, k1, k2...) > (last...)`` spelt with AND/OR (row-value comparison is not portable)."""
    columns = [cursor, *keys]
    condition: ColumnElement[bool] = columns[-1] > bindparam(f"after_{len(columns) - 1}", last[-1])
    for i in range(len(columns) - 2, -1, -1):
        value: ColumnElement[Any] = bindparam(f"after_{i}", last[i])
        condition = or_(columns[i] > value, and_(columns[i] == value, condition))
    return condition


def select_window(
    plan: ReadPlan,
    client: str | None,
    low: str | None,
    high: str,
    *,
    after: Sequence[Any] | None = None,
    limit: int | None = None,
) -> Select[Any]:
    """One keyset page of the records whose cursor is in ``[low, high)``, ordered by (cursor, key)."""
    joined, cursor = _source(plan, client, low)
    keys = [col(plan.table, k) for k in plan.key]
    conditions = [*_client_filter(plan, client), cursor < bindparam("high", high)]
    if low is not None:
        conditions.append(cursor >= bindparam("low", low))
    if after is not None:
        conditions.append(_after(cursor, keys, after))
    stmt = select(*selected_columns(plan, cursor)).select_from(joined).where(and_(*conditions))
    stmt = stmt.order_by(cursor, *keys)
    return stmt.limit(limit) if limit is not None else stmt


def select_versions(
    plan: ReadPlan, client: str | None, *, after: Sequence[Any] | None = None, limit: int
) -> Select[Any]:
    """One keyset page (by key) of every record's key and cursor (version reconciliation)."""
    joined, cursor = _stamped(plan, client, None)
    keys = [col(plan.table, k) for k in plan.key]
    conditions = _client_filter(plan, client)
    if after is not None:
        conditions.append(_after(keys[0], keys[1:], after))
    stmt = select(*keys, cursor.label(CURSOR_LABEL)).select_from(joined).where(and_(true(), *conditions))
    return stmt.order_by(*keys).limit(limit)


def select_by_keys(plan: ReadPlan, client: str | None, keys: Sequence[Sequence[Any]]) -> Select[Any]:
    """The records with these keys (gaps found by reconciliation), with their cursors."""
    joined, cursor = _source(plan, client, None)
    t = plan.table
    if len(plan.key) == 1:
        match: ColumnElement[bool] = col(t, plan.key[0]).in_([v[0] for v in keys])
    else:
        match = or_(*[and_(*[col(t, k) == v for k, v in zip(plan.key, values, strict=True)]) for values in keys])
    stmt = select(*selected_columns(plan, cursor)).select_from(joined)
    return stmt.where(and_(*_client_filter(plan, client), match)).order_by(*[col(t, k) for k in plan.key])


def select_deletions(plan: ReadPlan, client: str | None, low: str | None, high: str) -> Select[Any]:
    """``CDPOS`` deletions (``CHNGIND = 'D'``) of this table in ``[low, high)``, with their stamps."""
    docs = plan.change_docs
    assert docs is not None
    h, p = docs.cdhdr, docs.cdpos
    stamp = col(h, "UDATE") + col(h, "UTIME")
    on = and_(
        col(p, "MANDANT") == col(h, "MANDANT"),
        col(p, "OBJECTCLAS") == col(h, "OBJECTCLAS"),
        col(p, "OBJECTID") == col(h, "OBJECTID"),
        col(p, "CHANGENR") == col(h, "CHANGENR"),
    )
    conditions = [
        col(h, "OBJECTCLAS") == bindparam("cd_class", docs.object_class),
        col(p, "TABNAME") == bindparam("tabname", plan.table.name.upper()),
        col(p, "CHNGIND") == bindparam("chngind", CHANGED_DELETED),
        stamp < bindparam("high", high),
    ]
    if client is not None:
        conditions.append(col(h, "MANDANT") == bindparam("client", client))
    if low is not None:
        conditions.append(stamp >= bindparam("low", low))
    return (
        select(col(p, "TABKEY"), func.max(stamp).label(CURSOR_LABEL))
        .select_from(p.join(h, on))
        .where(and_(*conditions))
        .group_by(col(p, "TABKEY"))
        .order_by(col(p, "TABKEY"))
    )


def select_clock(dialect: str, clock: Table | None) -> Select[Any]:
    """The source's clock: HANA's UTC timestamp, a sandbox's simulated clock, or the server's."""
    if clock is not None:
        return select(col(clock, "UTC_NOW"))
    if dialect == "hana":
        # HANA's CURRENT_TIMESTAMP is the server's local time; the UTC one is unambiguous.
        return select(literal_column("CURRENT_UTCTIMESTAMP")).select_from(table("DUMMY"))
    return select(func.current_timestamp())
