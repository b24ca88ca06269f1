"""Canonical entity schemas: one YAML file per entity version, the single source of truth.

Both the Arrow schema (typing of canonical Parquet parts and warehouse DDL) and the Great
Expectations suite are generated from an :class:`EntitySchema`, so the contract data teams read
is the contract the pipeline enforces.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    import pyarrow as pa

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_DECIMAL = re.compile(r"^decimal\((\d{1,2}),\s*(\d{1,2})\)$")
_SIMPLE_TYPES = ("string", "integer", "number", "boolean", "date", "timestamp")

# Columns the loader adds to every canonical table; entity schemas may not define them.
DELETED_COLUMN = "_is_deleted"
LOADED_AT_COLUMN = "_loaded_at"
RUN_KEY_COLUMN = "_run_key"
SYSTEM_COLUMNS = (DELETED_COLUMN, LOADED_AT_COLUMN, RUN_KEY_COLUMN)


def check_type_name(type_name: str) -> None:
    """Raise ValueError unless ``type_name`` is a canonical type (``string``, ``decimal(18,2)``...)."""
    if type_name in _SIMPLE_TYPES:
        return
    match = _DECIMAL.match(type_name)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        if not 1 <= precision <= 38 or scale > precision:
            raise ValueError(f"decimal precision/scale out of range: {type_name}")
        return
    allowed = ", ".join([*_SIMPLE_TYPES, "decimal(p,s)"])
    raise ValueError(f"unknown canonical type {type_name!r}; expected one of {allowed}")


def arrow_type(type_name: str) -> pa.DataType:
    """Return the Arrow type for a canonical type name.

    pyarrow is imported here, not at module level, because specs and schemas are validated
    while Airflow parses DAG files, where every import counts.
    """
    import pyarrow as pa

    check_type_name(type_name)
    match = _DECIMAL.match(type_name)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    simple = {
        "string": pa.string(),
        "integer": pa.int64(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        # Timestamps are always instants in UTC: a naive timestamp in a warehouse is a bug waiting.
        "timestamp": pa.timestamp("us", tz="UTC"),
    }
    return simple[type_name]


class PiiClass(StrEnum):
    """How sensitive a column is; drives masking in logs and the compliance report."""

    NONE = "none"
    INDIRECT = "indirect"  # identifies a person only with other data (city, job title)
    DIRECT = "direct"  # identifies a person on its own (email, phone, name)
    SENSITIVE = "sensitive"  # special category (health, finance, government ids)


class Column(BaseModel):
    """One column of a canonical entity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: str
    nullable: bool = True
    description: str = ""
    pii: PiiClass = PiiClass.NONE
    allowed_values: list[str] | None = None
    max_length: Annotated[int, Field(gt=0)] | None = None

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, value: str) -> str:
        if value in SYSTEM_COLUMNS:
            raise ValueError(f"column name {value!r} is reserved for the loader")
        if not _IDENTIFIER.match(value):
            raise ValueError(f"column name {value!r} must be lower snake_case, at most 63 characters")
        return value

    @field_validator("type")
    @classmethod
    def _type_is_known(cls, value: str) -> str:
        check_type_name(value)
        return value

    @cached_property
    def arrow_type(self) -> pa.DataType:
        return arrow_type(self.type)


class EntitySchema(BaseModel):
    """A versioned canonical entity (for example ``customer`` v1).

    Args:
        entity: table name in the warehouse.
        version: bumped on breaking changes; additive changes keep the version.
        primary_key: columns that identify a record across all sources.
        cursor: the column whose value orders versions of a record (older never overwrites newer).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: str
    version: Annotated[int, Field(ge=1)]
    description: str = ""
    primary_key: list[str]
    cursor: str
    columns: list[Column]

    @field_validator("entity")
    @classmethod
    def _entity_is_identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(f"entity name {value!r} must be lower snake_case")
        return value

    @model_validator(mode="after")
    def _keys_exist(self) -> EntitySchema:
        names = [c.name for c in self.columns]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate columns: {duplicates}")
        for key in [*self.primary_key, self.cursor]:
            if key not in names:
                raise ValueError(f"key column {key!r} is not among the columns")
        nullable_keys = [c.name for c in self.columns if c.name in self.primary_key and c.nullable]
        if nullable_keys:
            raise ValueError(f"primary key columns must be nullable: false: {nullable_keys}")
        if not self.primary_key:
            raise ValueError("primary_key must name at least one column")
        return self

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.entity} has no column {name!r}")

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of canonical parts (entity columns plus the soft-delete flag)."""
        import pyarrow as pa

        fields = [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns]
        fields.append(pa.field(DELETED_COLUMN, pa.bool_(), nullable=False))
        return pa.schema(fields, metadata={"lumina.entity": self.entity, "lumina.version": str(self.version)})

    def describe(self) -> dict[str, Any]:
        """A short JSON-safe description for manifests and docs."""
        return {"entity": self.entity, "version": self.version, "primary_key": self.primary_key}
