"""``make demo``: every demo pipeline end to end, as real Airflow DAG runs, on embedded defaults.

1. starts the S3 sandbox (moto's server) and the Salesforce sandbox (HTTPS on loopback), and
   registers the Salesforce connection in Airflow from the sandbox's private credentials file;
   creates the SAP-shaped system (an embedded SQLite file read through the HANA hook's SQL path);
2. drops the first file exports and runs the file-drop pipelines; runs the Salesforce pipelines
   (first loads over Bulk 2.0 where they are big);
3. drops a file delta (updates, an out-of-order stale row, soft and hard deletes, new records) and
   gives the org a day of changes (creates, late updates sharing one stamp, soft and hard deletes,
   a formula input, a new field), after writing the legacy CRM's accounts to Salesforce; runs the
   pipelines again, then the reconcile and refresh DAGs that catch what no cursor shows;
   Likewise for SAP: new, changed, rejected, deleted and archived orders, customer and text
   changes, late commits; then the reconcile DAGs and the cross-system customer view;
   Likewise for ServiceNow (the sandbox instance, HTTPS on loopback): the five ITSM pipelines, then the
   instance's scripted day (new incidents, late updates tied on one second, audited and unaudited deletes,
   a field added to incident), the pipelines again and the reconcile DAGs of the unaudited tables;
   Jira (``lumina_sandbox.jira.demo``): first loads of issues, comments, worklogs and changelogs, a day on
   the site (late updates tied on one minute, mentions and unicode in ADF bodies, a deleted worklog, an
   issue with more changelog than one page, deleted issues, a custom field), the delta runs and the
   reconcile DAGs that find the deleted issues;
4. prints what the warehouse holds, whether it equals the org, the ServiceNow instance and the Jira site record
   for record, and customers seen in both Salesforce and SAP with their opportunities and orders.
Running it again re-drops byte-identical files and finds the org's and the SAP system's changes
already applied: every pipeline loads 0 rows.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from lumina_integration import environment
from lumina_sandbox import file_drops
from lumina_sandbox.s3_server import start

LANDING_BUCKET = "lumina-landing"
LAKE_BUCKET = "lumina-lake"
STATE_DIR = environment.state_dir()  # LUMINA_STATE_DIR
FILE_DROP_DAGS = ["filedrop_crm_accounts", "filedrop_erp_products", "filedrop_helpdesk_tickets"]
SALESFORCE_DAGS = ["salesforce_account", "salesforce_contact", "salesforce_opportunity", "salesforce_case"]
# The maintenance runs whose effect the demo's changes show: hard deletes, a new field, a formula.
MAINTENANCE_DAGS = ["salesforce_account__reconcile", "salesforce_account__refresh", "salesforce_contact__refresh"]
SAP_MAINTENANCE_DAGS = ["sap_vbak__reconcile", "sap_vbap__reconcile"]
# ServiceNow: every pipeline the sandbox's compare.py judges, and the reconcile DAGs that find the deletes of
# the unaudited tables (core_company, sys_user leave no sys_audit_delete rows).
SERVICENOW_DAGS = [
    "servicenow_core_company",
    "servicenow_sys_user",
    "servicenow_incident",
    "servicenow_sc_req_item",
    "servicenow_change_request",
]
SERVICENOW_MAINTENANCE_DAGS = ["servicenow_core_company__reconcile", "servicenow_sys_user__reconcile"]
SAP_CHANGED = STATE_DIR / "sap_erp.changes-applied"  # the SAP system's round of changes is applied once
JIRA_DAGS = ["jira_issues", "jira_comments", "jira_worklogs", "jira_changelog"]
# Jira reports no deleted issues: the reconcile DAGs find them (and their comments and histories).
JIRA_MAINTENANCE_DAGS = [f"{dag_id}__reconcile" for dag_id in JIRA_DAGS]
CROSS_SYSTEM = """
SELECT x.left_id AS salesforce_account, x.right_id AS sap_customer, c.name,
       (SELECT COUNT(*) FROM {s}.opportunity o WHERE o.source_system = 'salesforce'
         AND o.customer_source_id = x.left_id AND NOT o._is_deleted) AS opportunities,
       (SELECT COUNT(*) FROM {s}.sales_order so WHERE so.source_system = 'sap_erp'
         AND so.customer_source_id = x.right_id AND NOT so._is_deleted) AS orders
FROM {s}.customer_xref x JOIN {s}.customer c ON c.source_system = 'salesforce' AND c.source_id = x.left_id
ORDER BY orders DESC, opportunities DESC, salesforce_account LIMIT 5
"""


def s3(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def drop_files(client: Any, drops: list[file_drops.Drop]) -> None:
    for drop in drops:
        file_drops.upload(client, LANDING_BUCKET, drop)
    # S3's clock (the Date header) has one-second resolution and windows end at that clock, so a
    # file is inside a window only once the second it landed in is over.
    time.sleep(1.1)


def dag_bag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    return bag


def _outcome(run: Any, states: dict[str, str]) -> str:
    if "load" in states and states["load"] == "success":
        load = run.get_task_instance("load").xcom_pull(task_ids="load")
        checked = run.get_task_instance("validate").xcom_pull(task_ids="validate")
        return (
            f"{run.state}: {load['rows_inserted']} new, {load['rows_updated']} updated, "
            f"{load['rows_deleted']} deleted, {load['rows_quarantined']} quarantined; "
            f"validation: {checked['rows']} passed, {checked['rejected']} failed expectations"
        )
    if len(states) == 1 and all(state == "success" for state in states.values()):
        [task_id] = states
        return f"{run.state}: {run.get_task_instance(task_id).xcom_pull(task_ids=task_id)}"
    return f"{run.state} ({states})"


def run_pipelines(bag: Any, label: str, dag_ids: list[str]) -> list[str]:
    report = []
    for dag_id in dag_ids:
        started = time.perf_counter()
        run = bag.dags[dag_id].test()
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        report.append(f"  [{label}] {dag_id:<38} {_outcome(run, states)}  ({time.perf_counter() - started:.1f}s)")
        print(report[-1], flush=True)
        if str(run.state) != "success":
            raise SystemExit(f"{dag_id} did not succeed: {states}")
    return report


def salesforce_verdict(control: Any) -> str:
    from lumina_integration.warehouse.connection import warehouse_target
    from lumina_sandbox.salesforce.compare import HEADER, compare

    target = warehouse_target("lumina_warehouse")
    lines = ["Warehouse vs the Salesforce org (live records, record for record):", HEADER]
    lines += [compare(target.engine, target.schema, control, dag_id).describe() for dag_id in SALESFORCE_DAGS]
    return "\n".join(lines)


def servicenow_verdict(control: Any) -> str:
    from lumina_integration.warehouse.connection import warehouse_target
    from lumina_sandbox.servicenow.compare import HEADER, compare

    target = warehouse_target("lumina_warehouse")
    lines = ["Warehouse vs the ServiceNow instance (live records, record for record):", HEADER]
    lines += [compare(target.engine, target.schema, control, dag_id).describe() for dag_id in SERVICENOW_DAGS]
    return "\n".join(lines)


def run_servicenow(bag: Any) -> tuple[Any, list[str]]:
    """The ServiceNow part: first loads, the instance's scripted day (once per instance), the runs after it."""
    from lumina_integration.warehouse.connection import warehouse_target
    from lumina_integration.warehouse.state import read_watermark
    from lumina_sandbox.servicenow import demo as servicenow

    control = servicenow.start(STATE_DIR)
    print(f"ServiceNow sandbox at {control.base_url} (connection {servicenow.CONN_ID})", flush=True)
    report = run_pipelines(bag, "initial", SERVICENOW_DAGS)
    target = warehouse_target("lumina_warehouse")
    changes = servicenow.apply_changes(control, read_watermark(target.engine, target.schema, "servicenow_incident"))
    print(f"ServiceNow changes: {changes or 'already applied to this instance, nothing new'}", flush=True)
    return control, report + run_pipelines(bag, "delta", SERVICENOW_DAGS + SERVICENOW_MAINTENANCE_DAGS)


def run_jira(bag: Any) -> tuple[list[str], str]:
    """The Jira part: first loads, the site's scripted day (``lumina_sandbox.jira.demo``), the delta runs and the
    reconcile DAGs; returns the run report and the record-for-record verdict."""
    from lumina_integration.warehouse.connection import warehouse_target
    from lumina_integration.warehouse.state import read_watermark
    from lumina_sandbox.jira import demo as jira
    from lumina_sandbox.jira.compare import HEADER, compare

    site = jira.start(STATE_DIR)
    print(f"Jira sandbox at {site.base_url} (connection {jira.CONN_ID})", flush=True)
    report = run_pipelines(bag, "initial", JIRA_DAGS)
    target = warehouse_target("lumina_warehouse")
    changes = jira.apply_changes(site, read_watermark(target.engine, target.schema, "jira_issues"))
    print(f"Jira site changes: {changes or 'already applied to this site, nothing new'}", flush=True)
    report += run_pipelines(bag, "delta", JIRA_DAGS + JIRA_MAINTENANCE_DAGS)
    lines = ["Warehouse vs the Jira site (live records, record for record):", HEADER]
    lines += [compare(target.engine, target.schema, site, dag_id).describe() for dag_id in JIRA_DAGS]
    return report, "\n".join(lines)


def cross_system_view() -> str:
    """Customers Salesforce and SAP both know, with their opportunities and orders (via customer_xref)."""
    from sqlalchemy import text

    from lumina_integration.warehouse.connection import warehouse_target

    target = warehouse_target("lumina_warehouse")
    schema = f'"{target.schema}"'
    with target.engine.connect() as conn:
        linked = conn.execute(text(f"SELECT COUNT(*) FROM {schema}.customer_xref")).scalar_one()
        rows = conn.execute(text(CROSS_SYSTEM.format(s=schema))).all()
    lines = [f"One customer across systems: {linked} Salesforce accounts linked to SAP customers (customer_xref)."]
    lines.append(f"{'salesforce account':<20}{'sap customer':<14}{'name':<34}{'opportunities':>14}{'orders':>8}")
    lines += [f"{r[0]:<20}{r[1]:<14}{r[2][:32]:<34}{r[3]:>14}{r[4]:>8}" for r in rows]
    return "\n".join(lines)


def prepare_sap() -> None:
    from lumina_sandbox.sap import demo as sap

    if not sap.DEFAULT_PATH.exists():  # kept between demos, like the Salesforce org
        sap.prepare()
    os.environ["AIRFLOW_CONN_SAP_ERP"] = json.dumps(sap.connection())


def change_sap() -> dict[str, Any] | None:
    from lumina_integration.warehouse.connection import warehouse_target
    from lumina_integration.warehouse.state import read_watermark
    from lumina_sandbox.sap import demo as sap

    if SAP_CHANGED.exists():
        return None
    target = warehouse_target("lumina_warehouse")
    done = sap.apply_changes(read_watermark(target.engine, target.schema, "sap_vbap"))
    SAP_CHANGED.write_text(json.dumps(done, default=str))
    return done


def main() -> None:
    from lumina_integration.warehouse.connection import warehouse_target
    from lumina_integration.warehouse.state import read_watermark
    from lumina_integration.warehouse.summary import warehouse_summary
    from lumina_sandbox.salesforce import demo as salesforce

    # The same endpoint settings-import wrote into lumina_lake/lumina_landing (and the plan step checks):
    # the sandbox on LUMINA_S3_PORT, unless LUMINA_S3_ENDPOINT names another server.
    if os.environ.get(environment.S3_ENDPOINT):
        endpoint = environment.s3_endpoint()
    else:
        endpoint = start(environment.s3_port(), STATE_DIR)
    client = s3(endpoint)
    print(f"S3 sandbox at {endpoint}", flush=True)
    for bucket in (LANDING_BUCKET, LAKE_BUCKET):
        if bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
            client.create_bucket(Bucket=bucket)
    org = salesforce.start(STATE_DIR)
    print(f"Salesforce sandbox at {org.base_url} (connection {salesforce.CONN_ID})", flush=True)
    prepare_sap()
    from lumina_sandbox.sap.demo import DEFAULT_PATH as SAP_PATH

    print(f"SAP-shaped system in {SAP_PATH} (connection sap_erp)", flush=True)
    bag = dag_bag()
    from lumina_sandbox.sap.demo import PIPELINES as SAP_DAGS

    accounts, tickets = file_drops.accounts_initial(), file_drops.tickets_initial()
    drop_files(client, [accounts, file_drops.products(), tickets])
    report = run_pipelines(bag, "initial", FILE_DROP_DAGS + SALESFORCE_DAGS + SAP_DAGS)

    drop_files(client, [file_drops.accounts_delta(accounts), file_drops.tickets_delta(tickets)])
    report += run_pipelines(bag, "delta", FILE_DROP_DAGS)
    report += run_pipelines(bag, "write-back", ["salesforce_writeback_legacy_accounts"])
    target = warehouse_target("lumina_warehouse")
    changes = salesforce.apply_changes(org, read_watermark(target.engine, target.schema, "salesforce_account"))
    print(f"Salesforce org changes: {changes or 'already applied to this org, nothing new'}", flush=True)
    report += run_pipelines(bag, "delta", SALESFORCE_DAGS + MAINTENANCE_DAGS)
    print(f"SAP changes: {change_sap() or 'already applied to this system, nothing new'}", flush=True)
    report += run_pipelines(bag, "delta", SAP_DAGS + SAP_MAINTENANCE_DAGS + ["customer_xref"])
    snow, runs = run_servicenow(bag)
    report += runs
    jira_report, jira_verdict = run_jira(bag)
    report += jira_report

    print("\nRuns:\n" + "\n".join(report))
    print("\n" + warehouse_summary("lumina_warehouse"))
    print("\n" + salesforce_verdict(org))
    print("\n" + servicenow_verdict(snow))
    print("\n" + jira_verdict)
    print("\n" + cross_system_view())
    print(f"\nRaw, canonical and quarantine parts: s3://{LAKE_BUCKET}/ at {endpoint}")
    print("Validation reports: s3://lumina-lake/validation/...; open the runs with `make ui`.")


if __name__ == "__main__":
    main()
