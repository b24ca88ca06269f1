"""Execute a mapping on Arrow: raw source batch in, canonical table and rejected rows out.

Pure: no Airflow, no I/O. Every input row ends up in exactly one of the two outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from lumina_integration.canonical.schema import DELETED_COLUMN, EntitySchema
from lumina_integration.protection.quoting import shown_value
from lumina_integration.quarantine import QUARANTINE_SCHEMA, quarantine_rows
from lumina_integration.transforms.casting import cast_any
from lumina_integration.transforms.mapping import ColumnRule, Mapping

# Written by the file readers for records they could not parse.
SOURCE_ERROR = "_lumina_error"
SOURCE_RAW = "_lumina_raw"


@dataclass(frozen=True)
class TransformResult:
    canonical: pa.Table  # typed by the entity's Arrow schema
    rejected: pa.Table  # quarantine rows (see lumina_integration.quarantine)


def _field(batch: pa.Table, name: str) -> pa.Array:
    """A source field as text; a field absent from this batch is all null (sources vary by file)."""
    if name not in batch.column_names:
        return pa.nulls(batch.num_rows, pa.string())
    column = batch.column(name).combine_chunks()
    return column if pa.types.is_string(column.type) else column.cast(pa.string())


def _text_value(rule: ColumnRule, batch: pa.Table) -> pa.Array:
    """The rule's value as text, before typing."""
    n = batch.num_rows
    if rule.constant is not None:
        text = str(rule.constant).lower() if isinstance(rule.constant, bool) else str(rule.constant)
        value: pa.Array = pa.array([text] * n, pa.string())
    elif rule.from_ is not None:
        value = _field(batch, rule.from_)
    elif rule.coalesce is not None:
        value = pc.coalesce(*[_field(batch, f) for f in rule.coalesce])
    else:
        assert rule.concat is not None
        parts = [_field(batch, f) for f in rule.concat]
        # Arrow drops (not nulls) the rows whose parts are all null under "skip": give those rows
        # an empty first part, then make them null again.
        all_null = pc.is_null(parts[0])
        for part in parts[1:]:
            all_null = pc.and_(all_null, pc.is_null(part))
        parts[0] = pc.if_else(all_null, pa.scalar("", pa.string()), parts[0])
        value = pc.binary_join_element_wise(*parts, rule.separator, null_handling="skip")
        value = pc.if_else(all_null, pa.scalar(None, pa.string()), value)
    for step in rule.transform:
        if step == "strip":
            value = pc.utf8_trim_whitespace(value)
        elif step == "lower":
            value = pc.utf8_lower(value)
        elif step == "upper":
            value = pc.utf8_upper(value)
        elif step == "null_if_empty":
            value = pc.if_else(pc.equal(value, ""), pa.scalar(None, pa.string()), value)
    if rule.values is not None:
        keys = pa.array(list(rule.values), pa.string())
        looked_up = pc.take(pa.array(list(rule.values.values()), pa.string()), pc.index_in(value, keys))
        # Values without an entry pass through unchanged; validation judges them.
        value = pc.if_else(pc.is_in(value, value_set=keys), looked_up, value)
    if rule.default is not None:
        default = str(rule.default).lower() if isinstance(rule.default, bool) else str(rule.default)
        value = pc.fill_null(value, pa.scalar(default, pa.string()))
    return value


def _source_value(rule: ColumnRule, batch: pa.Table) -> pa.Array:
    """A plain ``from`` of a typed source column keeps its type; anything else works on text."""
    plain = rule.from_ is not None and not rule.transform and rule.values is None and rule.default is None
    if plain and rule.from_ in batch.column_names:
        return batch.column(rule.from_).combine_chunks()
    return _text_value(rule, batch)


def _typed(rule: ColumnRule, batch: pa.Table, target: pa.DataType) -> tuple[pa.Array, pa.Array, str | None]:
    source = _source_value(rule, batch)
    shifted = None
    if rule.sap_currency_decimals is not None:
        from lumina_integration.transforms.sap_types import shift_currency

        shifted = shift_currency(source, _field(batch, rule.sap_currency_decimals))
        source = shifted.values
    cast = cast_any(
        source,
        target,
        fmt=rule.format,
        timezone=rule.timezone,
        true_values=rule.true_values,
        false_values=rule.false_values,
    )
    if shifted is not None:
        return cast.values, pc.or_(cast.invalid, shifted.invalid), "CURR amount shifted by TCURX decimals"
    return cast.values, cast.invalid, cast.hint


def apply_mapping(
    mapping: Mapping,
    schema: EntitySchema,
    batch: pa.Table | pa.RecordBatch,
    *,
    only: list[str] | None = None,
    withheld: frozenset[str] = frozenset(),
) -> TransformResult:
    """Map one raw batch to the canonical entity; unparseable rows are rejected with reasons.

    ``only``: compute just these columns (plus the primary key), for a refresh of a few columns;
    the result then has only those columns and the delete flag. ``withheld``: source fields (lower case)
    whose values a reason must not quote (they feed a PII-protected column).
    """
    table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    target = _target_schema(schema, only)
    n = table.num_rows
    reasons: list[list[str]] = [[] for _ in range(n)]
    if SOURCE_ERROR in table.column_names:
        for i, error in enumerate(table.column(SOURCE_ERROR).to_pylist()):
            if error is not None:
                reasons[i].append(f"malformed source record: {error}")

    arrays = []
    for column in schema.columns:
        if column.name not in target.names:
            continue
        rule = mapping.columns.get(column.name)
        if rule is None:
            arrays.append(pa.nulls(n, column.arrow_type))
            continue
        values, invalid, hint = _typed(rule, table, column.arrow_type)
        if pc.any(invalid).as_py():
            source = _source_value(rule, table)
            why = f" ({hint})" if hint else ""
            quiet = any(f.lower() in withheld for f in rule.source_fields())
            for i in pc.indices_nonzero(invalid).to_pylist():
                # A personal column's value is masked, and so is a value read from a field that feeds a protected
                # column: reasons land in the quarantine table.
                shown = "<withheld:pii source field>" if quiet else shown_value(source[i].as_py(), column.pii)
                reasons[i].append(f"{column.name}: cannot read {shown} as {column.type}{why}")
        arrays.append(values)

    if mapping.deleted is not None:
        deleted, invalid, _ = _typed(mapping.deleted, table, pa.bool_())
        for i in pc.indices_nonzero(invalid).to_pylist():
            reasons[i].append("deleted flag: not a recognised boolean")
        arrays.append(pc.fill_null(deleted, False))
    else:
        arrays.append(pa.repeat(False, n))

    canonical = pa.Table.from_arrays(arrays, schema=_relaxed(target))
    rejected_mask = pa.array([bool(r) for r in reasons], pa.bool_())
    if not pc.any(rejected_mask).as_py():
        return TransformResult(canonical.cast(_relaxed(target)), QUARANTINE_SCHEMA.empty_table())

    rejected_positions = pc.indices_nonzero(rejected_mask)
    source_rows = table.drop_columns([c for c in (SOURCE_ERROR,) if c in table.column_names])
    rejected = quarantine_rows(
        "transform",
        source_rows.take(rejected_positions),
        ["; ".join(r) for r in reasons if r],
    )
    good = canonical.filter(pc.invert(rejected_mask))
    return TransformResult(good.cast(_relaxed(target)), rejected)


def _target_schema(schema: EntitySchema, only: list[str] | None) -> pa.Schema:
    full = schema.arrow_schema()
    if only is None:
        return full
    keep = {*schema.primary_key, *only, DELETED_COLUMN}
    unknown = set(only) - set(schema.column_names)
    if unknown:
        raise ValueError(f"{schema.entity} v{schema.version} has no columns {sorted(unknown)}")
    return pa.schema([f for f in full if f.name in keep], metadata=full.metadata)


def _relaxed(schema: pa.Schema) -> pa.Schema:
    """The schema with every field nullable, for the intermediate table before rejects go."""
    return pa.schema([f.with_nullable(True) for f in schema], metadata=schema.metadata)
