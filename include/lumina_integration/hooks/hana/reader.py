"""Rows of a SQLAlchemy result -> Arrow record batches, typed from the reflected catalogue.

Raw batches carry the table's columns as the database stores them (SAP text stays text: the
mapping's ``format: sap_*`` rules type it) plus four columns the later steps rely on:

- ``_lumina_id``: the record key, the key columns joined with ``/`` (``0000004711/000010``);
- ``_lumina_cursor``: the change stamp ``YYYYMMDDHHMMSS`` in the system's time zone (keyset);
- ``_lumina_changed_at``: that stamp as a UTC instant (orders versions in the warehouse);
- ``_lumina_deleted``: true for tombstones (change-document deletions, reconciliation).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import types as sa_types

from lumina_integration.hooks.hana.sql import BEGINNING, CURSOR, ReadPlan, col
from lumina_integration.transforms.sap_types import dats_tims_to_timestamp, pick_text

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

ID = "_lumina_id"
CHANGED_AT = "_lumina_changed_at"
DELETED = "_lumina_deleted"
ID_SEPARATOR = "/"


def arrow_type(sa_type: Any) -> pa.DataType:
    """The Arrow type of a reflected column type (HANA: NVARCHAR, DECIMAL, INTEGER...)."""
    if isinstance(sa_type, sa_types.Boolean):
        return pa.bool_()
    if isinstance(sa_type, sa_types.Integer):
        return pa.int64()
    if isinstance(sa_type, sa_types.Float):
        return pa.float64()
    if isinstance(sa_type, sa_types.Numeric):
        precision, scale = sa_type.precision, sa_type.scale
        if precision is None or precision > 38:
            return pa.decimal128(38, 10)  # HANA's floating DECIMAL: wide enough for ABAP DEC
        return pa.decimal128(precision, scale or 0)
    if isinstance(sa_type, sa_types.DateTime):
        return pa.timestamp("us")
    if isinstance(sa_type, sa_types.Date):
        return pa.date32()
    if isinstance(sa_type, sa_types.Time):
        return pa.time64("us")
    if isinstance(sa_type, sa_types._Binary):
        return pa.binary()
    return pa.string()


def fetched_schema(plan: ReadPlan) -> pa.Schema:
    """The schema of the rows :func:`~lumina_integration.hooks.hana.sql.select_window` returns."""
    fields = [pa.field(c.upper(), arrow_type(col(plan.table, c).type)) for c in plan.columns]
    for key in plan.currency_aliases:
        fields.append(pa.field(f"{key}_CURRDEC", pa.int64()))
    if plan.texts is not None:
        for language, alias in plan.text_aliases:
            fields.extend(
                pa.field(f"{c.upper()}__{language}", arrow_type(col(alias, c).type)) for c in plan.texts.columns
            )
    fields.append(pa.field(CURSOR, pa.string()))
    return pa.schema(fields)


def raw_schema(plan: ReadPlan) -> pa.Schema:
    """The schema of the batches the adapter yields (texts resolved, tracing columns added)."""
    fields = [f for f in fetched_schema(plan) if "__" not in f.name]
    if plan.texts is not None:
        for c in plan.texts.columns:
            fields[-1:-1] = [pa.field(c.upper(), pa.string()), pa.field(f"{c.upper()}_SPRAS", pa.string())]
    return pa.schema(
        [
            *fields,
            pa.field(ID, pa.string()),
            pa.field(CHANGED_AT, pa.timestamp("us", tz="UTC")),
            pa.field(DELETED, pa.bool_()),
        ]
    )


def record_ids(batch: pa.RecordBatch | pa.Table, key: Sequence[str]) -> pa.Array:
    """The key columns joined with ``/``; trailing CHAR padding is not part of an id."""
    parts = [pc.utf8_rtrim(batch.column(k.upper()).cast(pa.string()), characters=" ") for k in key]
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, ID_SEPARATOR)


EPOCH = pa.scalar(0, pa.timestamp("us", tz="UTC"))


def changed_at(cursors: pa.Array, timezone: str) -> pa.Array:
    """Cursor text -> UTC instant. A record with no stamp at all (``00000000000000``: migrated data
    never changed since) gets the earliest instant, so any real change orders after it."""
    instants = dats_tims_to_timestamp(cursors, timezone).values
    return pc.if_else(pc.equal(cursors, BEGINNING), EPOCH, instants)


def _finish(fetched: pa.RecordBatch, plan: ReadPlan, timezone: str, schema: pa.Schema) -> pa.RecordBatch:
    columns: dict[str, pa.Array] = {}
    for name in fetched.schema.names:
        if "__" not in name:
            columns[name] = fetched.column(name)
    if plan.texts is not None:
        for c in plan.texts.columns:
            candidates = [(language, fetched.column(f"{c.upper()}__{language}")) for language, _ in plan.text_aliases]
            columns[c.upper()], columns[f"{c.upper()}_SPRAS"] = pick_text(candidates)
    columns[ID] = record_ids(fetched, plan.key)
    columns[CHANGED_AT] = changed_at(fetched.column(CURSOR), timezone)
    columns[DELETED] = pa.array([False] * fetched.num_rows, pa.bool_())
    return pa.RecordBatch.from_arrays([columns[f.name] for f in schema], schema=schema)


def batches(result: CursorResult[Any], plan: ReadPlan, timezone: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """``fetchmany`` the result ``batch_rows`` at a time: memory is one batch, never the result."""
    fetched, schema = fetched_schema(plan), raw_schema(plan)
    while True:
        rows = result.fetchmany(batch_rows)
        if not rows:
            return
        arrays = [pa.array(values, f.type) for values, f in zip(zip(*rows, strict=True), fetched, strict=True)]
        yield _finish(pa.RecordBatch.from_arrays(arrays, schema=fetched), plan, timezone, schema)


def tombstones(
    plan: ReadPlan, keys: Sequence[Sequence[Any]], cursors: Sequence[str], timezone: str, client: str | None
) -> pa.RecordBatch | None:
    """Rows saying "this record is gone as of this stamp": key, client, cursor; all else null."""
    if not keys:
        return None
    schema, n = raw_schema(plan), len(keys)
    by_key = {k.upper(): i for i, k in enumerate(plan.key)}
    columns: list[pa.Array] = []
    for field in schema:
        if field.name in by_key:
            columns.append(pa.array([k[by_key[field.name]] for k in keys], field.type))
        elif plan.client_column is not None and field.name == plan.client_column.upper():
            columns.append(pa.array([client] * n, field.type))
        elif field.name == CURSOR:
            columns.append(pa.array(list(cursors), pa.string()))
        elif field.name == CHANGED_AT:
            columns.append(changed_at(pa.array(list(cursors), pa.string()), timezone))
        elif field.name == DELETED:
            columns.append(pa.array([True] * n, pa.bool_()))
        elif field.name == ID:
            columns.append(pa.array([ID_SEPARATOR.join(str(v).rstrip() for v in k) for k in keys], pa.string()))
        else:
            columns.append(pa.nulls(n, field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def split_tabkey(tabkey: str, widths: Sequence[int]) -> tuple[str, ...]:
    """``CDPOS-TABKEY`` is the table's key fields (client first) at their full CHAR widths."""
    out, offset = [], 0
    for width in widths:
        out.append(tabkey[offset : offset + width].rstrip())
        offset += width
    return tuple(out)


def stamp_text(instant: datetime, timezone: str) -> str:
    """An instant as the system's ``YYYYMMDDHHMMSS`` wall time (window bounds)."""
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(timezone)).strftime("%Y%m%d%H%M%S")
