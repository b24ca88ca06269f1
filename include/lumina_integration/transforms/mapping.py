"""Mapping definitions: how one source object becomes one canonical entity.

A mapping is YAML in ``include/mappings/<name>.yaml``. Each canonical column names exactly one
way to get its value: a source field (``from``), a ``constant``, the first non-null of several
fields (``coalesce``) or a join of several (``concat``); then optional string ``transform`` steps,
a ``values`` lookup table, a ``default`` for nulls, and type parsing hints (``format``, ``timezone``). This module only
describes and checks mappings; :mod:`lumina_integration.transforms.apply` executes them on Arrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lumina_integration.canonical.registry import load_entity
from lumina_integration.canonical.schema import EntitySchema
from lumina_integration.paths import MAPPINGS_DIR
from lumina_integration.transforms.formats import check_format
from lumina_integration.yaml_models import FieldProblem, YamlModelError, load_yaml_model

StringStep = Literal["strip", "lower", "upper", "null_if_empty"]


class ColumnRule(BaseModel):
    """How to compute one canonical column."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: str | None = Field(default=None, alias="from")
    constant: Any = None
    coalesce: list[str] | None = None
    concat: list[str] | None = None
    separator: str = " "
    transform: list[StringStep] = []
    values: dict[str, str | None] | None = None
    default: Any = None  # the value when the rule yields null (after transforms and lookup)
    # strptime format for date/timestamp columns (default ISO 8601), or a registered value format
    # (lumina_integration.transforms.formats: sap_dats, ...).
    format: str | None = None
    # SAP CURR: the raw column holding the currency's decimals (TCURX-CURRDEC, the SAP adapter's
    # currency_keys option adds it); the amount is shifted from the two stored decimals.
    sap_currency_decimals: str | None = None
    timezone: str = "UTC"  # zone of timestamps written without an offset
    true_values: list[str] = ["true", "t", "1", "yes", "y"]
    false_values: list[str] = ["false", "f", "0", "no", "n"]

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ColumnRule:
        given = [
            name
            for name, value in (
                ("from", self.from_),
                ("constant", self.constant),
                ("coalesce", self.coalesce),
                ("concat", self.concat),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError(f"give exactly one of from, constant, coalesce, concat (got {given or 'none'})")
        check_format(self.format)  # a registered value format or a strptime pattern
        return self

    def source_fields(self) -> list[str]:
        if self.from_ is not None:
            return [self.from_]
        return list(self.coalesce or self.concat or [])


class Mapping(BaseModel):
    """A source object -> canonical entity mapping.

    Args:
        entity: the canonical entity; ``entity_version`` pins its schema version.
        columns: canonical column name -> rule. Columns left out are null.
        deleted: optional rule giving a boolean tombstone flag (source-side soft delete).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: str
    entity_version: int
    description: str = ""
    columns: dict[str, ColumnRule]
    deleted: ColumnRule | None = None

    def entity_schema(self) -> EntitySchema:
        return load_entity(self.entity, self.entity_version)

    def source_fields(self) -> set[str]:
        """Every source field the mapping reads (the tombstone rule included)."""
        rules = [*self.columns.values(), *([self.deleted] if self.deleted else [])]
        return {f for rule in rules for f in rule.source_fields()}

    def source_key(self) -> SourceKey:
        """How a source record id becomes this entity's primary key (for id reconciliation).

        Needs every key column to be a constant or a plain ``from`` of one id field.
        """
        constants: dict[str, str] = {}
        id_columns: list[tuple[str, str]] = []
        for key in self.entity_schema().primary_key:
            rule = self.columns[key]
            if rule.constant is not None:
                constants[key] = str(rule.constant)
            elif rule.from_ is not None and not rule.transform and rule.values is None:
                id_columns.append((key, rule.from_))
        if len(id_columns) != 1 or len(constants) + 1 != len(self.entity_schema().primary_key):
            raise ValueError(
                f"mapping to {self.entity}: reconciliation needs the key to be constants plus one plain "
                "'from' of the source id field"
            )
        return SourceKey(constants, *id_columns[0])

    def source_cursor(self) -> str | None:
        """The source field copied unchanged into the entity's cursor column, or None.

        Reconciliation compares that field's value in the source with the warehouse's cursor; a
        cursor that a rule computes (formats, coalesce, defaults) cannot be compared that way.
        """
        rule = self.columns[self.entity_schema().cursor]
        plain = not (rule.transform or rule.values is not None or rule.default is not None or rule.format)
        return rule.from_ if rule.from_ is not None and plain else None

    def columns_reading(self, fields: set[str]) -> list[str]:
        """Canonical columns whose rule reads any of ``fields`` (case-insensitive)."""
        wanted = {f.lower() for f in fields}
        return [name for name, rule in self.columns.items() if {f.lower() for f in rule.source_fields()} & wanted]


@dataclass(frozen=True)
class SourceKey:
    """``constants``: key columns with a fixed value; ``id_column`` is read from ``id_field``."""

    constants: dict[str, str]
    id_column: str
    id_field: str


def check_against_schema(mapping: Mapping, schema: EntitySchema) -> list[str]:
    """Problems that make the mapping unusable for its entity (empty list when fine)."""
    problems = []
    known = set(schema.column_names)
    for name in mapping.columns:
        if name not in known:
            problems.append(f"columns.{name}: {schema.entity} v{schema.version} has no such column")
    for key in [*schema.primary_key, schema.cursor]:
        if key not in mapping.columns:
            problems.append(f"columns: key column {key!r} must be mapped")
    return problems


def load_mapping(name: str, root: Path = MAPPINGS_DIR) -> Mapping:
    """Load and check ``<root>/<name>.yaml``; errors name the file, line and field."""
    path = root / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in root.glob("*.yaml"))
        raise LookupError(f"no mapping named {name!r} in {root.name}/; known: {known}")
    mapping = load_yaml_model(Mapping, path)
    try:
        schema = mapping.entity_schema()
    except LookupError as exc:
        raise YamlModelError(path, [FieldProblem(1, "entity", str(exc))]) from exc
    problems = check_against_schema(mapping, schema)
    if problems:
        raise YamlModelError(path, [FieldProblem(1, "", p) for p in problems])
    return mapping
