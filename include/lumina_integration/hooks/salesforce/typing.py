"""Arrow types from ``describe``, and one conversion path for REST JSON and Bulk 2.0 CSV.

Both transports are turned into text first and then cast by the same vectorised function, so a
window read through REST and through Bulk 2.0 yields identical Arrow batches (same schema, same
values), whatever each transport's serialisation quirks (``+0000`` vs ``Z``, ``100.0`` vs
``100``, JSON booleans vs ``true``). Salesforce stores empty text as null, so an empty CSV field
is null too, while ``"NA"``, ``"N/A"`` and ``"NULL"`` stay the real values they are.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lumina_integration.transforms.casting import cast_text

_TEXT = {
    "id",
    "reference",
    "string",
    "textarea",
    "picklist",
    "multipicklist",
    "combobox",
    "email",
    "phone",
    "url",
    "encryptedstring",
    "time",
    "anyType",
}
_UNREADABLE = {"address", "location", "base64"}  # compound fields are read through their components


class TypeDriftError(ValueError):
    """A value that does not fit the type describe announced: the schema changed mid-read."""


def arrow_type(field: Mapping[str, Any]) -> pa.DataType | None:
    """The Arrow type of a describe field, or None when it is not extracted."""
    kind = field["type"]
    if kind in _UNREADABLE:
        return None
    if kind in _TEXT:
        return pa.string()
    if kind == "boolean":
        return pa.bool_()
    if kind == "int":
        return pa.int64()
    if kind == "currency":
        # Money keeps its declared scale exactly; precision is capped by what Salesforce allows (18).
        return pa.decimal128(min(int(field.get("precision") or 18), 38), int(field.get("scale") or 0))
    if kind in ("double", "percent"):
        return pa.float64()
    if kind == "date":
        return pa.date32()
    if kind == "datetime":
        return pa.timestamp("us", tz="UTC")
    return pa.string()


def extract_schema(fields: list[Mapping[str, Any]], wanted: list[str] | None = None) -> pa.Schema:
    """The raw-zone schema for an sObject: every readable field (or the wanted ones), in describe order."""
    chosen = {w.lower() for w in wanted} if wanted else None
    columns = []
    for field in fields:
        type_ = arrow_type(field)
        if type_ is None or (chosen is not None and field["name"].lower() not in chosen):
            continue
        columns.append(pa.field(field["name"], type_))
    return pa.schema(columns)


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return str(value)


def _typed(texts: pa.Array, field: pa.Field) -> pa.Array:
    result = cast_text(texts, field.type, true_values=["true"], false_values=["false"])
    if pc.any(result.invalid).as_py():
        bad = texts.filter(result.invalid)[0].as_py()
        raise TypeDriftError(f"{field.name}: {bad!r} is not a {field.type} as describe says; re-run discovery")
    return result.values


def batch_from_rest(records: list[Mapping[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    """A REST query page (``records`` of the JSON response) as a typed batch."""
    arrays = [_typed(pa.array([_text(r.get(f.name)) for r in records], pa.string()), f) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def batches_from_csv(payload: bytes, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """A Bulk 2.0 result page (CSV with a header row) as typed batches."""
    # The header alone (slicing, not splitting: a split would copy the whole page once more).
    header_end = payload.find(b"\n")
    header = payload[: header_end + 1] if header_end >= 0 else payload
    names = pacsv.read_csv(io.BytesIO(header)).column_names if payload else []
    by_lower = {f.name.lower(): f for f in schema}
    reader = pacsv.open_csv(
        io.BytesIO(payload),
        read_options=pacsv.ReadOptions(block_size=1 << 20),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,  # Salesforce has no empty strings: "" is null
            null_values=[""],
        ),
    )
    for batch in reader:
        columns = {name.lower(): batch.column(i) for i, name in enumerate(batch.schema.names)}
        missing = [f.name for f in schema if f.name.lower() not in columns]
        if missing:
            raise TypeDriftError(f"the bulk result lacks {missing}")
        arrays = [_typed(columns[f.name.lower()], by_lower[f.name.lower()]) for f in schema]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)
