"""Reverse ETL: the legacy CRM's active accounts become Salesforce Accounts (upsert by external id).

The legacy CRM's nightly exports land in the canonical ``customer`` table (``filedrop_crm_accounts``).
This DAG upserts the active ones into Salesforce through Bulk API 2.0, matching on the external id
``Legacy_CRM_Id__c``, so running it again updates the same accounts instead of creating twins. Each
row's outcome (Salesforce id, created or updated, or the error) is kept in the warehouse table
``lumina_writeback_results``; rows unchanged since their last successful write are not sent again, and
the task fails only when more than 5% of the rows in scope are rejected.

It runs daily, after the legacy CRM's nightly export, rather than on every event of the customer
Asset: the Salesforce pipelines update that table all day, and each such run would only re-check
unchanged rows. (Skipping unchanged rows matters: a Salesforce upsert stamps the record as changed
even when no value differs, which every extraction from Salesforce would then re-read.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag

from lumina_integration.alerts import failure_alerts
from lumina_integration.operators.writeback import ReverseSyncOperator
from lumina_integration.protection.access import folder_access_control


@dag(
    dag_id="salesforce_writeback_legacy_accounts",
    schedule="0 5 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["domain:crm", "source:salesforce", "owner:crm-data", "entity:customer", "reverse-etl"],
    access_control=folder_access_control(__file__),  # the same roles as the folder's pipelines
    default_args={
        "owner": "crm-data",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "pool": "salesforce_api",
        "on_failure_callback": failure_alerts(),
    },
    doc_md=__doc__,
)
def salesforce_writeback_legacy_accounts() -> None:
    ReverseSyncOperator(
        task_id="upsert_accounts",
        entity="customer",
        where={"source_system": "crm_export", "status": "active"},
        fields={
            "Legacy_CRM_Id__c": "source_id",
            "Name": "name",
            "Phone": "phone",
            "BillingCountryCode": "country_code",
            "AnnualRevenue": "annual_revenue",
            "NumberOfEmployees": "employee_count",
        },
        target_conn_id="salesforce_default",
        target_object="Account",
        operation="upsert",
        external_id_field="Legacy_CRM_Id__c",
    )


salesforce_writeback_legacy_accounts()
