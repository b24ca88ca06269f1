"""Which columns a refresh run re-reads: formula fields, and fields no load has filled yet.

Two kinds of source values change without the record's change cursor moving:
- formula (calculated) fields, recomputed by the source when what they depend on changes;
- fields added to the source or newly mapped, which existing records have values for that no
  incremental run will ever read (their cursors did not move).

A refresh reads ``Id`` + those fields for every live record and updates only the canonical
columns they feed, only where the value differs (see ``warehouse.loader.refresh_columns``).
Pure: no I/O, no Airflow.
"""

from __future__ import annotations

from dataclasses import dataclass

from lumina_integration.transforms.mapping import Mapping


@dataclass(frozen=True)
class RefreshPlan:
    """Attributes:
    fields: source fields to read (the id field first).
    columns: canonical columns to update (never the key or the cursor).
    formula_fields: the mapped calculated fields among ``fields``.
    backfill_fields: mapped fields no load has filled yet; covered once this refresh commits.
    """

    fields: list[str]
    columns: list[str]
    formula_fields: list[str]
    backfill_fields: list[str]

    @property
    def empty(self) -> bool:
        return not self.columns


def plan_refresh(mapping: Mapping, present: list[str], calculated: list[str], covered: list[str] | None) -> RefreshPlan:
    """The refresh for a source whose fields are ``present`` (``calculated`` among them).

    ``covered`` lists the fields every loaded record has; None means nothing was loaded yet, so
    there is nothing to refresh.
    """
    if covered is None:
        return RefreshPlan([], [], [], [])
    spelled = {f.lower(): f for f in present}
    mapped = {f.lower() for f in mapping.source_fields()} & set(spelled)
    formulas = mapped & {c.lower() for c in calculated}
    backfill = mapped - {c.lower() for c in covered}
    schema = mapping.entity_schema()
    fixed = {*schema.primary_key, schema.cursor}
    columns = [c for c in mapping.columns_reading(formulas | backfill) if c not in fixed]
    key = mapping.source_key()
    needed = {key.id_field.lower()} | {
        f.lower() for c in columns for f in mapping.columns[c].source_fields() if f.lower() in spelled
    }
    fields = [spelled[key.id_field.lower()], *sorted(spelled[f] for f in needed - {key.id_field.lower()})]
    return RefreshPlan(
        fields=fields if columns else [],
        columns=columns,
        formula_fields=sorted(spelled[f] for f in formulas),
        backfill_fields=sorted(spelled[f] for f in backfill),
    )
