"""The shape of quarantined records: what was rejected, where it came from, and why.

Rows rejected by the transform (unparseable values, malformed source records) and by validation
(failed expectations) share this shape, so one warehouse table holds every rejected record of a
pipeline with its reason. Nothing a pipeline reads is ever dropped without a row here.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

RECORD_NO = "_lumina_record_no"
SOURCE_KEY = "_lumina_source_key"
STAGE = "stage"
REASON = "reason"
RECORD = "record"

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field(STAGE, pa.string(), nullable=False),  # "transform" or "validate"
        pa.field(SOURCE_KEY, pa.string()),  # the file or object the record came from, when known
        pa.field(RECORD_NO, pa.int64()),  # its position there, when known
        pa.field(REASON, pa.string(), nullable=False),
        pa.field(RECORD, pa.string(), nullable=False),  # the record as JSON, exactly as it was rejected
    ]
)


def _json_default(value: Any) -> str:
    return str(value)


def quarantine_rows(stage: str, rows: pa.Table, reasons: list[str]) -> pa.Table:
    """Build quarantine rows from rejected ``rows`` (any columns) and one reason per row.

    Only rejected rows pass through here, so a per-row JSON encoding is affordable.
    """
    records = rows.drop_columns([c for c in (RECORD_NO, SOURCE_KEY) if c in rows.column_names])
    as_json = [json.dumps(r, default=_json_default, ensure_ascii=False, sort_keys=True) for r in records.to_pylist()]
    n = rows.num_rows

    def column_or_null(name: str, type_: pa.DataType) -> pa.Array:
        if name in rows.column_names:
            return rows.column(name).combine_chunks().cast(type_)
        return pa.nulls(n, type_)

    return pa.Table.from_arrays(
        [
            pa.array([stage] * n, pa.string()),
            column_or_null(SOURCE_KEY, pa.string()),
            column_or_null(RECORD_NO, pa.int64()),
            pa.array(reasons, pa.string()),
            pa.array(as_json, pa.string()),
        ],
        schema=QUARANTINE_SCHEMA,
    )
