"""``make demo``: every demo pipeline end to end, as real Airflow DAG runs, on embedded defaults.

1. starts the S3 sandbox (moto's server on loopback) and drops the first exports into the
   landing bucket; 2. runs each pipeline DAG; 3. drops a delta (updates, an out-of-order stale
   row, soft and hard deletes, new records) and runs them again; 4. prints what the warehouse holds.
Running it again re-drops byte-identical files, and every pipeline loads 0 rows.
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


def s3(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def drop_files(client: Any, drops: list[file_drops.Drop]) -> None:
    for drop in drops:
        file_drops.upload(client, LANDING_BUCKET, drop)
    # S3's clock (the Date header) has one-second resolution and windows end at that clock, so a
    # file is inside a window only once the second it landed in is over.
    time.sleep(1.1)


def run_pipelines(label: str) -> list[str]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    report = []
    for dag_id in sorted(d for d in bag.dags if d.startswith("filedrop_")):
        started = time.perf_counter()
        run = bag.dags[dag_id].test()
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        outcome = f"{run.state} ({states})"
        if states.get("load") == "success":
            load = run.get_task_instance("load").xcom_pull(task_ids="load")
            checked = run.get_task_instance("validate").xcom_pull(task_ids="validate")
            outcome = (
                f"{run.state}: {load['rows_inserted']} new, {load['rows_updated']} updated, "
                f"{load['rows_deleted']} deleted, {load['rows_quarantined']} quarantined; "
                f"validation: {checked['rows']} passed, {checked['rejected']} failed expectations"
            )
        report.append(f"  [{label}] {dag_id:<28} {outcome}  ({time.perf_counter() - started:.1f}s)")
        print(report[-1], flush=True)
        if str(run.state) != "success":
            raise SystemExit(f"{dag_id} did not succeed: {states}")
    return report


def main() -> None:
    endpoint = start(int(os.environ.get("LUMINA_S3_PORT", DEFAULT_PORT)), Path(".lumina"))
    client = s3(endpoint)
    print(f"S3 sandbox at {endpoint}", flush=True)
    for bucket in (LANDING_BUCKET, LAKE_BUCKET):
        if bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
            client.create_bucket(Bucket=bucket)

    accounts, tickets = file_drops.accounts_initial(), file_drops.tickets_initial()
    drop_files(client, [accounts, file_drops.products(), tickets])
    report = run_pipelines("initial")
    drop_files(client, [file_drops.accounts_delta(accounts), file_drops.tickets_delta(tickets)])
    report += run_pipelines("delta")

    from lumina_integration.warehouse.summary import warehouse_summary

    print("\nRuns:\n" + "\n".join(report))
    print("\n" + warehouse_summary("lumina_warehouse"))
    print(f"\nRaw, canonical and quarantine parts: s3://{LAKE_BUCKET}/ at {endpoint}")
    print("Validation reports: s3://lumina-lake/validation/...; open the runs with `make ui`.")


if __name__ == "__main__":
    main()
