"""Does the warehouse hold exactly what the sandbox org holds? Record for record, per Salesforce pipeline.

Used by the integration tests and by ``make demo``'s summary. The comparison is independent of the
mappings' code: it names, per pipeline, which canonical column must equal which sObject field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, text

from lumina_sandbox.common.compare import Comparison, header
from lumina_sandbox.common.compare import normal as common_normal

# dag id -> (sObject, canonical table, canonical column -> sObject field)
PIPELINES: dict[str, tuple[str, str, dict[str, str]]] = {
    "salesforce_account": (
        "Account",
        "customer",
        {
            "name": "Name",
            "phone": "Phone",
            "region": "Region__c",
            "segment": "Customer_Segment__c",
            "sap_customer_number": "SAP_Customer_Number__c",
            "annual_revenue": "AnnualRevenue",
            "source_updated_at": "SystemModstamp",
        },
    ),
    "salesforce_contact": (
        "Contact",
        "contact",
        {
            "last_name": "LastName",
            "first_name": "FirstName",
            "customer_source_id": "AccountId",
            "customer_name": "Account_Name__c",
            "source_updated_at": "SystemModstamp",
        },
    ),
    "salesforce_opportunity": (
        "Opportunity",
        "opportunity",
        {
            "name": "Name",
            "stage": "StageName",
            "amount": "Amount",
            "days_to_close": "Days_To_Close__c",
            "source_updated_at": "SystemModstamp",
        },
    ),
    "salesforce_case": (
        "Case",
        "support_case",
        {
            "subject": "Subject",
            "customer_source_id": "AccountId",
            "age_days": "Age_Days__c",
            "source_updated_at": "SystemModstamp",
        },
    ),
}
# What a mapping puts in place of a null source value.
DEFAULTS = {"Subject": "(no subject)"}


class OrgTruth(Protocol):
    """An ``Org`` in-process or a ``SandboxControl`` over HTTP."""

    def truth(self, sobject: str, fields: list[str] | None = None, include_deleted: bool = False) -> list[Any]: ...


HEADER = header("org live")


def _rest_datetime(value: str) -> datetime | None:
    if len(value) == 28 and value[10] == "T" and value[-5] == "+":
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    return None


def normal(value: Any) -> Any:
    """One comparable form for a warehouse value and a REST value."""
    return common_normal(value, _rest_datetime)


def compare(engine: Engine, schema: str, org: OrgTruth, pipeline: str) -> Comparison:
    """Compare one pipeline's canonical table (its Salesforce rows) with the org's live records."""
    sobject, table, columns = PIPELINES[pipeline]
    truth = {r["Id"]: r for r in org.truth(sobject)}
    with engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote_identifier
        listed = ", ".join(quote(c) for c in columns)
        rows = conn.execute(
            text(
                f"SELECT source_id, _is_deleted, {listed} FROM {quote(schema)}.{quote(table)} "
                "WHERE source_system = 'salesforce'"
            )
        ).all()
    live = {r[0]: r[2:] for r in rows if not r[1]}
    result = Comparison(
        pipeline=pipeline,
        source_live=len(truth),
        warehouse_live=len(live),
        duplicates=len(rows) - len({r[0] for r in rows}),
        missing=sorted(set(truth) - set(live)),
        not_deleted=sorted(set(live) - set(truth)),
    )
    for record_id in sorted(set(live) & set(truth)):
        stored = dict(zip(columns, (normal(v) for v in live[record_id]), strict=True))
        source = truth[record_id]
        expected = {c: normal(DEFAULTS.get(f) if source.get(f) is None else source.get(f)) for c, f in columns.items()}
        if stored != expected:
            result.differing.append((record_id, stored, expected))
    return result


# -- exact comparison by hashes ----------------------------------------------------------------------------------


def record_hash(values: dict[str, Any]) -> str:
    """SHA-256 of one record's compared columns, each in its :func:`normal` form."""
    import hashlib
    import json

    def text_of(value: Any) -> Any:
        value = normal(value)
        return value.isoformat() if isinstance(value, datetime) else value

    body = json.dumps({k: text_of(v) for k, v in sorted(values.items())}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Digest:
    """Live rows, duplicate keys and a hash per key of one side of a comparison."""

    rows: int
    duplicates: int
    hashes: dict[str, str]

    @property
    def checksum(self) -> str:
        """One hash over every (key, record hash): equal checksums mean equal tables."""
        import hashlib

        lines = "\n".join(f"{k} {h}" for k, h in sorted(self.hashes.items()))
        return hashlib.sha256(lines.encode()).hexdigest()


@dataclass(frozen=True)
class ExactComparison:
    pipeline: str
    warehouse: Digest
    org: Digest

    @property
    def differing(self) -> list[str]:
        """Keys whose hash differs, or that only one side has."""
        keys = set(self.warehouse.hashes) | set(self.org.hashes)
        return sorted(k for k in keys if self.warehouse.hashes.get(k) != self.org.hashes.get(k))

    @property
    def equal(self) -> bool:
        w, o = self.warehouse, self.org
        return w.duplicates == 0 and w.rows == o.rows and w.checksum == o.checksum

    def describe(self) -> str:
        w, o = self.warehouse, self.org
        return (
            f"{self.pipeline}: warehouse {w.rows} live rows ({w.duplicates} duplicate keys), org {o.rows}; "
            f"{len(self.differing)} keys differ, e.g. {self.differing[:3]}"
        )


def _is_before(stamp: Any, bound: datetime) -> bool:
    value = normal(stamp)
    return isinstance(value, datetime) and value < bound


def exact(
    engine: Engine,
    schema: str,
    org: Any,
    pipeline: str,
    *,
    below: datetime | None = None,
    ignore_gone: bool = False,
    skip_columns: tuple[str, ...] = (),
    skip_ids: frozenset[str] = frozenset(),
) -> ExactComparison:
    """Row count, no duplicate keys and a hash per key of the compared columns, warehouse against org.

    Args:
        below: compare only what a run that committed this watermark must have: the org's records (live
            or in the recycle bin) whose cursor is below it. Records changed since are in flight.
        ignore_gone: leave out warehouse rows whose id the org no longer has at all (hard deletes
            that no reconcile run has seen yet).
        skip_columns: compared columns left out (values a maintenance run has not refreshed yet).
        skip_ids: ids left out on both sides.
    """
    sobject, table, columns = PIPELINES[pipeline]
    cursor_field = columns["source_updated_at"]
    compared = {c: f for c, f in columns.items() if c not in skip_columns}
    records = org.truth(sobject, include_deleted=True)
    known = {r["Id"] for r in records}
    in_scope = {r["Id"] for r in records if below is None or _is_before(r[cursor_field], below)} - skip_ids
    org_hashes = {
        r["Id"]: record_hash({c: DEFAULTS.get(f) if r.get(f) is None else r.get(f) for c, f in compared.items()})
        for r in records
        if r["Id"] in in_scope and not r.get("IsDeleted")
    }
    with engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote_identifier
        listed = ", ".join(quote(c) for c in compared)
        rows = conn.execute(
            text(
                f"SELECT source_id, _is_deleted, {listed} FROM {quote(schema)}.{quote(table)} "
                "WHERE source_system = 'salesforce'"
            )
        ).all()
    ids = [r[0] for r in rows]
    duplicates = len(ids) - len(set(ids))

    def wanted(record_id: str) -> bool:
        if record_id in known:
            return record_id in in_scope
        return not ignore_gone and record_id not in skip_ids

    warehouse_hashes = {
        r[0]: record_hash(dict(zip(compared, r[2:], strict=True))) for r in rows if not r[1] and wanted(r[0])
    }
    return ExactComparison(
        pipeline=pipeline,
        warehouse=Digest(len(warehouse_hashes), duplicates, warehouse_hashes),
        org=Digest(len(org_hashes), 0, org_hashes),
    )
