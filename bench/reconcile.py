"""``make bench-reconcile``: what reconciling a big object costs (seconds, API calls, Bulk jobs, peak RSS).

    .venv/bin/python -m bench.reconcile [--accounts 1000000] [--changed 1000]

A detached sandbox org with ``--accounts`` Accounts is started (HTTPS on loopback), the lake is moto's S3
server, the warehouse a fresh schema in the local Postgres (as in ``bench/e2e.py``). Then:

1. the ``salesforce_account`` DAG first-loads the org (five real Airflow tasks, each in a process of its own);
2. ``--changed`` accounts are updated with a ``SystemModstamp`` two hours behind the watermark, far below
   the lookback, so that no incremental window will ever read them;
3. the ``salesforce_account__reconcile`` DAG runs the same way, and the benchmark reports its seconds per
   task, the API calls and Bulk jobs of its audit row (and the sandbox's own request counts), how many
   records it read again, and each task's peak RSS; then it checks that every changed account was repaired.

Results: ``bench/results/reconcile.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import environment_summary
from bench.e2e import DEFAULT_POSTGRES, OTHER_OBJECTS, ROOT, SANDBOX_PORT, TASKS, Bench, log

RESULTS = ROOT / "bench" / "results" / "reconcile.json"
PIPELINE = "salesforce_account"
RECONCILE = f"{PIPELINE}__reconcile"
NEW_PHONE = "+1 555 0199"


def run_dag(bench: Bench, dag_id: str, label: str) -> dict[str, Any]:
    """The DAG's five tasks in order, each a real Airflow task in a fresh process."""
    run_id = bench._python("bench.airflow_task", ["create-run", dag_id], f"create-run-{label}")["run_id"]
    tasks, started = {}, time.perf_counter()
    for task in TASKS:
        tasks[task] = bench._python("bench.airflow_task", ["run", dag_id, run_id, task], f"{task}-{label}")
        log(f"  {task}: {tasks[task]['seconds']} s, peak RSS {tasks[task]['peak_rss_mb']} MB")
    return {
        "run_id": run_id,
        "tasks": tasks,
        "wall_seconds_with_process_starts": round(time.perf_counter() - started, 2),
    }


def manifest_extra(bench: Bench, uri: str) -> dict[str, Any]:
    """The raw manifest's ``extra`` (the adapter's reconcile counts are there)."""
    import boto3

    endpoint = json.loads(bench.env["AIRFLOW_CONN_LUMINA_LAKE"])["extra"]["endpoint_url"]
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=bench.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=bench.env["AWS_SECRET_ACCESS_KEY"],
    )
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    extra: dict[str, Any] = document.get("extra", {})
    return extra


def measure(bench: Bench, accounts: int, changed: int) -> dict[str, Any]:
    from lumina_sandbox.salesforce import runner
    from lumina_sandbox.salesforce.control import SandboxControl
    from lumina_sandbox.salesforce.demo import airflow_connection

    state_dir = bench.workdir / "org"
    log(f"seeding a sandbox org with {accounts:,} Accounts")
    state = runner.start(SANDBOX_PORT, state_dir, 7, {"Account": accounts, **OTHER_OBJECTS}, 20, timeout=1800)
    bench.env["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = json.dumps(airflow_connection(state_dir))
    control = SandboxControl.from_state_dir(state_dir)
    schema = f"bench_reconcile_{uuid.uuid4().hex[:8]}"
    bench.warehouse(schema)
    out: dict[str, Any] = {"accounts": accounts, "changed": changed, "seed_seconds": state["seed_seconds"]}
    try:
        log(f"first load of {accounts:,} Accounts")
        out["first_load"] = run_dag(bench, PIPELINE, "first-load")
        ((watermark,),) = bench.query(f'SELECT watermark FROM "{schema}".lumina_state WHERE pipeline_id = %s', PIPELINE)
        below = watermark - timedelta(hours=2)
        ids = [
            r[0]
            for r in bench.query(
                f'SELECT source_id FROM "{schema}".customer WHERE source_system = %s AND NOT _is_deleted '
                "AND source_updated_at < %s ORDER BY source_id LIMIT %s",
                "salesforce",
                below,
                changed,
            )
        ]
        log(f"updating {len(ids):,} accounts with a stamp two hours behind the watermark ({below.isoformat()})")
        control.update("Account", [{"Id": i, "Phone": NEW_PHONE} for i in ids], modstamp=below)
        before = control.request_counts()
        log("reconcile")
        reconcile = run_dag(bench, RECONCILE, "reconcile")
        after = control.request_counts()
        extract = reconcile["tasks"]["extract"]["xcom"]
        counts = manifest_extra(bench, extract["manifest"]).get("reconciled") or {}
        ((api_calls, bulk_jobs, updated),) = bench.query(
            f'SELECT api_calls, bulk_jobs, rows_updated FROM "{schema}".lumina_audit WHERE run_key LIKE %s',
            f"{RECONCILE}%",
        )
        ((repaired,),) = bench.query(
            f'SELECT COUNT(*) FROM "{schema}".customer WHERE source_id = ANY(%s) AND phone = %s',
            ids,
            NEW_PHONE,
        )
        tasks = reconcile["tasks"]
        out["reconcile"] = {
            **reconcile,
            "seconds": round(sum(t["seconds"] for t in tasks.values()), 2),
            "api_calls": api_calls,
            "bulk_jobs": bulk_jobs,
            "sandbox_requests": {
                k: after.get(k, 0) - before.get(k, 0) for k in sorted(after) if after.get(k, 0) != before.get(k, 0)
            },
            "compared": counts,
            "records_read_again": counts.get("missing", 0) + counts.get("changed", 0),
            "rows_updated": updated,
            "repaired": repaired,
            "peak_rss_mb": max(t["peak_rss_mb"] for t in tasks.values()),
            "peak_rss_mb_by_task": {name: t["peak_rss_mb"] for name, t in tasks.items()},
        }
        if repaired != len(ids):
            raise RuntimeError(
                f"the reconcile repaired {repaired} of the {len(ids)} accounts changed below the lookback"
            )
    finally:
        runner.stop(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)
        bench.drop_schema(schema)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=1_000)
    parser.add_argument("--postgres", default=os.environ.get("LUMINA_TEST_POSTGRES", DEFAULT_POSTGRES))
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="lumina-bench-reconcile-"))
    bench = Bench(workdir, args.postgres, None)
    # The tasks import the package from where the caller's path says (a checkout beside the installed one).
    bench.env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    try:
        bench.start()
        result = measure(bench, args.accounts, args.changed)
    finally:
        bench.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    result["environment"] = environment_summary()
    result["bench_seconds"] = round(time.perf_counter() - started)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    r = result["reconcile"]
    print(
        f"\nReconcile of {args.accounts:,} Accounts with {args.changed:,} updated below the lookback:\n"
        f"  {r['seconds']} s in the five tasks (extract {r['tasks']['extract']['seconds']} s), "
        f"{r['api_calls']} API calls, {r['bulk_jobs']} Bulk job(s), {r['records_read_again']:,} records read again, "
        f"{r['rows_updated']:,} rows updated, peak RSS {r['peak_rss_mb']} MB ({r['peak_rss_mb_by_task']})\n"
        f"  compared: {r['compared']}; sandbox requests: {r['sandbox_requests']}"
    )
    log(f"results written to {args.output}")


if __name__ == "__main__":
    main()
