"""Schema drift: compare a source's field definitions with the last snapshot and decide per policy.

Pure functions (no I/O, no Airflow): the plan step feeds them the adapter's fields and the
snapshot stored in the warehouse, and the load step writes the resulting change log in the same
transaction as the data. Policies, per pipeline:

- ``evolve``: read the source as it is now; added fields flow into the raw zone, and mapped
  ones get a column-only backfill at the next refresh; every change is logged.
- ``freeze``: keep reading exactly the fields of the first snapshot; added fields are logged and
  ignored; a mapped field removed or retyped fails the run before anything loads.
- ``quarantine``: like ``evolve`` for added fields, but while a mapped field is removed or
  retyped, the run's records go to quarantine with the reason instead of loading, and the
  snapshot is kept until the change is accepted: the mapping no longer reads the field, or one
  run under ``evolve`` stores the new snapshot (docs/runbook.md, "Schema drift").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from lumina_integration.hooks.base import SourceField

DriftPolicy = Literal["evolve", "freeze", "quarantine"]
# Changes that can break a mapping; the others are information.
BREAKING = ("removed", "type_changed")


def snapshot_of(fields: list[SourceField]) -> dict[str, Any]:
    """The JSON-safe snapshot of a field list (what the warehouse stores)."""
    return {f.name: f.describe() for f in fields}


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-level changes from ``old`` to ``new`` snapshots, in field-name order."""
    changes: list[dict[str, Any]] = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before is None:
            changes.append({"field": name, "change": "added", "old": None, "new": after})
        elif after is None:
            changes.append({"field": name, "change": "removed", "old": before, "new": None})
        else:
            for aspect, kind in (
                ("type", "type_changed"),
                ("length", "length_changed"),
                ("precision", "precision_changed"),
                ("scale", "precision_changed"),
                ("calculated", "calculated_changed"),
                ("values", "values_changed"),
            ):
                if before.get(aspect) != after.get(aspect) and not any(
                    c["field"] == name and c["change"] == kind for c in changes
                ):
                    changes.append({"field": name, "change": kind, "old": before, "new": after})
    return changes


@dataclass(frozen=True)
class DriftDecision:
    """What a run does about the source's schema.

    Attributes:
        changes: the changes, each with ``mapped`` and the ``action`` taken.
        read_fields: the fields to read (None: every field the source has now).
        quarantine_reason: set when the run's records must go to quarantine instead of loading.
        failure: set when the run must fail before reading anything.
        new_snapshot: the snapshot to store with the load (None: keep the stored one).
    """

    changes: list[dict[str, Any]] = field(default_factory=list)
    read_fields: list[str] | None = None
    quarantine_reason: str | None = None
    failure: str | None = None
    new_snapshot: dict[str, Any] | None = None


def decide(
    policy: DriftPolicy, stored: dict[str, Any] | None, current: dict[str, Any], mapped_fields: set[str]
) -> DriftDecision:
    """Apply ``policy`` to the difference between the ``stored`` and ``current`` snapshots."""
    if stored is None:
        return DriftDecision(new_snapshot=current)
    mapped = {m.lower() for m in mapped_fields}
    logged = []
    for change in diff(stored, current):
        is_mapped = change["field"].lower() in mapped
        breaking = is_mapped and change["change"] in BREAKING
        if policy == "freeze":
            action = "failed" if breaking else "ignored"
        elif policy == "quarantine" and breaking:
            action = "quarantined"
        else:
            action = "evolved"
        logged.append({**change, "mapped": is_mapped, "action": action})
    broken = "; ".join(
        f"{c['field']} {c['change'].replace('_', ' ')}" for c in logged if c["action"] in ("failed", "quarantined")
    )
    if policy == "freeze":
        return DriftDecision(
            changes=logged,
            read_fields=sorted(n for n in stored if n in current),
            failure=f"schema drift in mapped fields ({broken}) and the pipeline's policy is freeze" if broken else None,
        )
    if broken:  # quarantine policy: the snapshot stays until the change is accepted
        return DriftDecision(changes=logged, quarantine_reason=f"schema drift in mapped fields: {broken}")
    return DriftDecision(changes=logged, new_snapshot=current)
