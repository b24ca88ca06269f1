"""Does the warehouse hold exactly what the sandbox org holds? Record for record, per Salesforce pipeline.

Used by the integration tests and by ``make demo``'s summary. The comparison is independent of the
mappings' code: it names, per pipeline, which canonical column must equal which sObject field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, text

from lumina_sandbox.common.compare import Comparison, ExactComparison, Known, header
from lumina_sandbox.common.compare import exact as common_exact
from lumina_sandbox.common.compare import normal as common_normal
from lumina_sandbox.common.protected import Protection

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
    view = Protection(table)
    for record_id in sorted(set(live) & set(truth)):
        stored = {c: normal(view.stored(c, v)) for c, v in zip(columns, live[record_id], strict=True)}
        source = truth[record_id]
        expected = {
            c: normal(view.expected(c, DEFAULTS.get(f) if source.get(f) is None else source.get(f)))
            for c, f in columns.items()
        }
        if stored != expected:
            result.differing.append((record_id, stored, expected))
    return result


# -- exact comparison by hashes ----------------------------------------------------------------------------------


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
    """Row count, no duplicate keys and a hash per key of the compared columns, warehouse against org
    (``common.compare.exact``: records in the recycle bin are known deletions stamped by SystemModstamp;
    ids the org no longer has at all are hard deletes). ``skip_columns``: compared columns left out
    (values a maintenance run has not refreshed yet)."""
    sobject, table, columns = PIPELINES[pipeline]
    cursor_field = columns["source_updated_at"]
    compared = {c: f for c, f in columns.items() if c not in skip_columns}
    known = {
        r["Id"]: Known(
            r[cursor_field],
            bool(r.get("IsDeleted")),
            {c: DEFAULTS.get(f) if r.get(f) is None else r.get(f) for c, f in compared.items()},
        )
        for r in org.truth(sobject, include_deleted=True)
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
    return common_exact(
        pipeline,
        known,
        [tuple(r) for r in rows],
        list(compared),
        normal,
        below=below,
        ignore_gone=ignore_gone,
        skip_ids=skip_ids,
        entity=table,
    )
