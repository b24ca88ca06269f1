"""Resolve a pipeline's options against the reflected SAP tables into a :class:`ReadPlan`.

Every name of the spec is looked up in the reflected catalogue here; what is not there fails the
task with a configuration error that names it (and is not retried).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lumina_integration.hooks.hana.errors import HanaConfigurationError
from lumina_integration.hooks.hana.options import HanaOptions
from lumina_integration.hooks.hana.sql import ChangeDocTables, ReadPlan, TextJoin

if TYPE_CHECKING:
    from sqlalchemy import Connection, Table

CLIENT_COLUMNS = ("MANDT", "MANDANT", "CLIENT", "RCLNT")


def names_of(table: Table) -> dict[str, str]:
    """Upper-case SAP name -> name as reflected."""
    return {c.name.upper(): c.name for c in table.columns}


def _require(table: Table, wanted: list[str], what: str) -> list[str]:
    known = names_of(table)
    missing = [w for w in wanted if w.upper() not in known]
    if missing:
        raise HanaConfigurationError(f"{table.name.upper()} has no {what} {missing}; it has {sorted(known)}")
    return [known[w.upper()] for w in wanted]


def _primary_key(table: Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def build_plan(
    conn: Connection, obj: str, opts: HanaOptions, tables: Callable[[Connection, list[str]], list[Table]]
) -> ReadPlan:
    (table,) = tables(conn, [obj])
    known = names_of(table)
    client_column = next((known[c] for c in CLIENT_COLUMNS if c in known), None)
    if opts.key:
        key = _require(table, opts.key, "key columns")
    else:
        key = [c for c in _primary_key(table) if c != client_column]
        if not key:
            raise HanaConfigurationError(f"{obj} has no primary key; give source.options.key")
    columns = _require(table, opts.columns, "columns") if opts.columns is not None else [c.name for c in table.columns]
    for extra in [*key, *([client_column] if client_column else [])]:
        if extra not in columns:
            columns.append(extra)
    changed = []
    for pair in opts.changed:
        date = _require(table, [pair.date], "change date column")[0]
        time = _require(table, [pair.time], "change time column")[0] if pair.time else None
        changed.append((date, time))
    change_docs = None
    if opts.change_documents is not None:
        cd = opts.change_documents
        cdhdr, cdpos = tables(conn, ["CDHDR", "CDPOS"])
        change_docs = ChangeDocTables(
            cdhdr, cdpos, cd.object_class, _require(table, [cd.object_id], "object id")[0], cd.deletions
        )
    tcurx = None
    currency_keys = _require(table, opts.currency_keys, "currency key columns") if opts.currency_keys else []
    if currency_keys:
        (tcurx,) = tables(conn, ["TCURX"])
    texts = None
    if opts.texts is not None:
        (text_table,) = tables(conn, [opts.texts.table])
        text_columns = _require(text_table, opts.texts.columns, "text columns")
        language = _require(text_table, ["SPRAS"], "language column")[0]
        on = [c for c in _primary_key(text_table) if c != language]
        _require(table, on, f"columns to join {opts.texts.table} on")
        texts = TextJoin(text_table, text_columns, opts.texts.languages, on, language)
    return ReadPlan(
        table=table,
        columns=columns,
        key=key,
        client_column=client_column,
        changed=changed,
        change_docs=change_docs,
        tcurx=tcurx,
        currency_keys=currency_keys,
        texts=texts,
    )
