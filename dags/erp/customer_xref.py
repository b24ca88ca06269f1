"""Keeps the ``customer_xref`` warehouse view: which Salesforce Account is which SAP customer.

Runs whenever a pipeline loads the canonical customer table (its Asset), and daily. The links are
configured in ``include/xref/customer.yaml`` (Salesforce ``sap_customer_number`` = SAP
``source_id``, compared without leading zeros), so the warehouse answers questions across systems,
such as one customer's Salesforce opportunities beside its SAP orders (examples in docs/sources/sap.md).
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Asset, dag, task

from lumina_integration.alerts import failure_alerts
from lumina_integration.operators.load import entity_asset_uri
from lumina_integration.protection.access import folder_access_control


@dag(
    dag_id="customer_xref",
    schedule=[Asset(name="warehouse.customer", uri=entity_asset_uri("customer"))],
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["domain:erp", "source:warehouse", "owner:erp-data", "entity:customer"],
    access_control=folder_access_control(__file__),  # the same roles as the folder's pipelines
    default_args={
        "owner": "erp-data",
        "retries": 2,
        "retry_exponential_backoff": True,
        "on_failure_callback": failure_alerts(),
    },
    doc_md=__doc__,
)
def customer_xref() -> None:
    @task
    def apply_customer_xref() -> str:
        from lumina_integration.warehouse.connection import warehouse_target
        from lumina_integration.warehouse.xref import apply_xref, load_xref

        spec = load_xref("customer")
        target = warehouse_target("lumina_warehouse")
        apply_xref(target.engine, target.schema, spec)
        return f"{target.schema}.{spec.view}"

    apply_customer_xref()


customer_xref()
