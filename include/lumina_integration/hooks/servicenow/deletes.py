"""Deletions: ``sys_audit_delete`` rows -> tombstones, for audited tables; the sys_id comparison for the rest.

The Table API lists no deleted records. An *audited* table (its dictionary collection entry has ``audit``)
writes one ``sys_audit_delete`` row per delete: ``tablename`` (the record's class: ``incident`` for an
incident read through ``task``), ``documentkey`` (its sys_id), stamped ``sys_created_on`` = when it was
deleted. A window's deletes are those rows of the window, keyset-paged on ``(sys_created_on, sys_id)`` like
every other read. An unaudited table (``sys_user``, ``core_company`` out of the box) leaves no trace: its
deletes are found by the ``__reconcile`` DAG, which compares every live sys_id with the warehouse's.

A tombstone is a row with the record's sys_id, ``sys_updated_on`` = the deletion time (so the load's cursor
guard orders it after the record's last version) and ``_lumina_deleted`` true; every other column null.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import pyarrow as pa

from lumina_integration.hooks.servicenow.query import names, parse_glide, window_query
from lumina_integration.hooks.servicenow.reader import TableApi
from lumina_integration.hooks.servicenow.settings import CREATED, CURSOR, KEY, SYS_AUDIT_DELETE

DELETED = "_lumina_deleted"
AUDIT_FIELDS = ("sys_id", "tablename", "documentkey", CREATED)
DELETED_FIELD = pa.field(DELETED, pa.bool_())


def audited_deletes(
    api: TableApi,
    classes: Sequence[str],
    start: datetime | None,
    end: datetime,
    page_size: int,
) -> dict[str, datetime]:
    """sys_id -> when it was deleted, for the records of ``classes`` deleted in ``[start, end)`` (latest delete)."""
    tables = names(classes)

    def query_for(after: tuple[str, str] | None) -> str:
        return window_query(
            AUDIT_FIELDS,
            SYS_AUDIT_DELETE,
            start,
            end,
            after=after,
            cursor=CREATED,
            extra=[("tablename", "IN", tables)],
        )

    found: dict[str, datetime] = {}
    for row in api.window(SYS_AUDIT_DELETE, AUDIT_FIELDS, page_size, query_for, cursor=CREATED):
        key, stamp = row.get("documentkey"), row.get(CREATED)
        if key and stamp:
            when = parse_glide(str(stamp))
            if key not in found or when > found[str(key)]:
                found[str(key)] = when
    return found


def tombstones(deleted: dict[str, datetime], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Rows saying "gone as of this instant", in the read's ``schema``, at most 10,000 a batch."""
    items = sorted(deleted.items())
    for at in range(0, len(items), 10_000):
        part = items[at : at + 10_000]
        columns: list[pa.Array] = []
        for f in schema:
            if f.name == KEY:
                columns.append(pa.array([k for k, _ in part], f.type))
            elif f.name == CURSOR:
                columns.append(pa.array([s for _, s in part], f.type))
            elif f.name == DELETED:
                columns.append(pa.repeat(True, len(part)))
            else:
                columns.append(pa.nulls(len(part), f.type))
        yield pa.RecordBatch.from_arrays(columns, schema=schema)


def with_deleted_flag(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A live batch with ``_lumina_deleted`` false."""
    return pa.RecordBatch.from_arrays(
        [*batch.columns, pa.repeat(False, batch.num_rows)], schema=batch.schema.append(DELETED_FIELD)
    )
