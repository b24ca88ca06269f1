"""Does the warehouse hold exactly what the sandbox instance holds? Record for record, per ServiceNow pipeline.

For ``make demo`` and the integration tests. Independent of the mappings' code: each pipeline names which
canonical column must equal which source field (or a function of the source record, for a derived column).
A warehouse row belongs to a pipeline when its ``source_id`` is a live or deleted record of the pipeline's
table (several tables load one entity: incidents and requested items are both support cases).

The column names below follow the pipelines' mappings; when a mapping changes, change it here in one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, text

from lumina_sandbox.common.compare import Comparison, ExactComparison, Known, header
from lumina_sandbox.common.compare import exact as common_exact
from lumina_sandbox.common.compare import normal as common_normal
from lumina_sandbox.common.protected import Protection

Record = dict[str, str | None]
Column = str | Callable[[Record], Any]  # a source field, or the canonical value computed from the record


@dataclass(frozen=True)
class Pipeline:
    table: str
    canonical: str
    columns: dict[str, Column]


# Incidents and requested items are both support cases, mapped alike.
SUPPORT_CASE: dict[str, Column] = {
    "subject": "short_description",
    "customer_source_id": "company",
    "opened_at": "opened_at",
    "closed_at": "closed_at",
    "source_updated_at": "sys_updated_on",
}
PIPELINES: dict[str, Pipeline] = {
    "servicenow_incident": Pipeline("incident", "support_case", SUPPORT_CASE),
    "servicenow_sc_req_item": Pipeline("sc_req_item", "support_case", SUPPORT_CASE),
    "servicenow_change_request": Pipeline(
        "change_request",
        "change_request",
        {"number": "number", "short_description": "short_description", "source_updated_at": "sys_updated_on"},
    ),
    "servicenow_core_company": Pipeline(
        "core_company", "customer", {"name": "name", "phone": "phone", "source_updated_at": "sys_updated_on"}
    ),
    "servicenow_sys_user": Pipeline("sys_user", "person", {"email": "email", "source_updated_at": "sys_updated_on"}),
}
SOURCE_SYSTEM = "servicenow"
# Glide datetimes (``2026-11-20 10:15:30``, UTC) and a warehouse's datetime text (a driver without a type).
_DATETIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?")


class InstanceTruth(Protocol):
    """An ``Instance`` in-process or a ``ServiceNowControl`` over HTTP."""

    def truth(self, table: str, fields: list[str] | None = None) -> list[Record]: ...

    def deleted_ids(self, table: str) -> set[str]: ...


HEADER = header("snow live")


def _text_datetime(value: str) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if _DATETIME.fullmatch(value) else None


def normal(value: Any) -> Any:
    """One comparable form for a warehouse value and an instance value (glide datetimes are UTC text; an empty
    string is an empty value)."""
    return None if value == "" else common_normal(value, _text_datetime)


def expected_values(pipeline: Pipeline, record: Record) -> dict[str, Any]:
    return {
        column: normal(source(record) if callable(source) else record.get(source))
        for column, source in pipeline.columns.items()
    }


def compare(engine: Engine, schema: str, instance: InstanceTruth, pipeline_id: str) -> Comparison:
    """Compare one pipeline's canonical rows with the instance's live records of its table."""
    pipeline = PIPELINES[pipeline_id]
    truth = {str(r["sys_id"]): r for r in instance.truth(pipeline.table)}
    deleted = instance.deleted_ids(pipeline.table)
    columns = list(pipeline.columns)
    with engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote_identifier
        listed = ", ".join(quote(c) for c in columns)
        rows = conn.execute(
            text(
                f"SELECT source_id, _is_deleted, {listed} FROM {quote(schema)}.{quote(pipeline.canonical)} "
                "WHERE source_system = :system"
            ),
            {"system": SOURCE_SYSTEM},
        ).all()
    mine = [r for r in rows if r[0] in truth or r[0] in deleted]
    live = {r[0]: r[2:] for r in mine if not r[1]}
    result = Comparison(
        pipeline=pipeline_id,
        source_live=len(truth),
        warehouse_live=len(live),
        duplicates=len(mine) - len({r[0] for r in mine}),
        missing=sorted(set(truth) - set(live)),
        not_deleted=sorted(set(live) & deleted),
    )
    view = Protection(pipeline.canonical)
    for sys_id in sorted(set(live) & set(truth)):
        stored = {c: normal(view.stored(c, v)) for c, v in zip(columns, live[sys_id], strict=True)}
        expected = view.expected_values(expected_values(pipeline, truth[sys_id]))
        if stored != expected:
            result.differing.append((sys_id, stored, expected))
    return result


# -- exact comparison by hashes (the fault tests) ----------------------------------------------------------------


def exact(
    engine: Engine,
    schema: str,
    instance: Any,
    pipeline_id: str,
    *,
    below: datetime | None = None,
    ignore_gone: bool = False,
    skip_columns: tuple[str, ...] = (),
    skip_ids: frozenset[str] = frozenset(),
) -> ExactComparison:
    """Row count, no duplicate keys and a hash per key of the compared columns, warehouse against instance
    (``common.compare.exact``). A deleted record is a known deletion stamped by its ``sys_audit_delete`` row's
    ``sys_created_on`` when its table audited it; deleted unaudited, only a reconcile can tell (``ignore_gone``
    until one has run). ``instance``: an ``Instance`` in-process (it reads ``sys_audit_delete`` as a table)."""
    pipeline = PIPELINES[pipeline_id]
    compared = {c: f for c, f in pipeline.columns.items() if c not in skip_columns}
    deleted = instance.deleted_ids(pipeline.table)
    known = {
        str(r["sys_id"]): Known(r["sys_updated_on"], False, expected_values(Pipeline("", "", compared), r))
        for r in instance.truth(pipeline.table)
    }
    members = set(known) | deleted
    for audit in instance.truth("sys_audit_delete", ["documentkey", "sys_created_on"]):
        if audit["documentkey"] in deleted:
            known[str(audit["documentkey"])] = Known(audit["sys_created_on"], True, {})
    columns = list(compared)
    with engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote_identifier
        listed = ", ".join(quote(c) for c in columns)
        rows = conn.execute(
            text(
                f"SELECT source_id, _is_deleted, {listed} FROM {quote(schema)}.{quote(pipeline.canonical)} "
                "WHERE source_system = :system"
            ),
            {"system": SOURCE_SYSTEM},
        ).all()
    return common_exact(
        pipeline_id,
        known,
        [tuple(r) for r in rows if r[0] in members],
        columns,
        normal,
        below=below,
        ignore_gone=ignore_gone,
        skip_ids=skip_ids,
        entity=pipeline.canonical,
    )
