"""``make demo``: every demo pipeline end to end, as real Airflow DAG runs, on embedded defaults.

1. starts the S3 sandbox (moto's server) and the Salesforce sandbox (HTTPS on loopback), and
   registers the Salesforce connection in Airflow from the sandbox's private credentials file;
2. drops the first file exports and runs the file-drop pipelines; runs the Salesforce pipelines
   (first loads over Bulk 2.0 where they are big);
3. drops a file delta (updates, an out-of-order stale row, soft and hard deletes, new records) and
   gives the org a day of changes (creates, late updates sharing one stamp, soft and hard deletes,
   a formula input, a new field), after writing the legacy CRM's accounts to Salesforce; runs the
   pipelines again, then the reconcile and refresh DAGs that catch what no cursor shows;
4. prints what the warehouse holds and whether it equals the org, record for record.
Running it again re-drops byte-identical files and finds the org's day already applied: every
pipeline loads 0 rows.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from lumina_sandbox import file_drops
from lumina_sandbox.s3_server import DEFAULT_PORT, start

LANDING_BUCKET = "lumina-landing"
LAKE_BUCKET = "lumina-lake"
STATE_DIR = Path(".lumina")
FILE_DROP_DAGS = ["filedrop_crm_accounts", "filedrop_erp_products", "filedrop_helpdesk_tickets"]
SALESFORCE_DAGS = ["salesforce_account", "salesforce_contact", "salesforce_opportunity", "salesforce_case"]
# The maintenance runs whose effect the demo's changes show: hard deletes, a new field, a formula.
MAINTENANCE_DAGS = ["salesforce_account__reconcile", "salesforce_account__refresh", "salesforce_contact__refresh"]


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


def main() -> None:
    from lumina_integration.warehouse.connection import warehouse_target
    from lumina_integration.warehouse.state import read_watermark
    from lumina_integration.warehouse.summary import warehouse_summary
    from lumina_sandbox.salesforce import demo as salesforce

    endpoint = start(int(os.environ.get("LUMINA_S3_PORT", DEFAULT_PORT)), STATE_DIR)
    client = s3(endpoint)
    print(f"S3 sandbox at {endpoint}", flush=True)
    for bucket in (LANDING_BUCKET, LAKE_BUCKET):
        if bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
            client.create_bucket(Bucket=bucket)
    org = salesforce.start(STATE_DIR)
    print(f"Salesforce sandbox at {org.base_url} (connection {salesforce.CONN_ID})", flush=True)
    bag = dag_bag()

    accounts, tickets = file_drops.accounts_initial(), file_drops.tickets_initial()
    drop_files(client, [accounts, file_drops.products(), tickets])
    report = run_pipelines(bag, "initial", FILE_DROP_DAGS + SALESFORCE_DAGS)

    drop_files(client, [file_drops.accounts_delta(accounts), file_drops.tickets_delta(tickets)])
    report += run_pipelines(bag, "delta", FILE_DROP_DAGS)
    report += run_pipelines(bag, "write-back", ["salesforce_writeback_legacy_accounts"])
    target = warehouse_target("lumina_warehouse")
    changes = salesforce.apply_changes(org, read_watermark(target.engine, target.schema, "salesforce_account"))
    print(f"Salesforce org changes: {changes or 'already applied to this org, nothing new'}", flush=True)
    report += run_pipelines(bag, "delta", SALESFORCE_DAGS + MAINTENANCE_DAGS)

    print("\nRuns:\n" + "\n".join(report))
    print("\n" + warehouse_summary("lumina_warehouse"))
    print("\n" + salesforce_verdict(org))
    print(f"\nRaw, canonical and quarantine parts: s3://{LAKE_BUCKET}/ at {endpoint}")
    print("Validation reports: s3://lumina-lake/validation/...; open the runs with `make ui`.")


if __name__ == "__main__":
    main()
