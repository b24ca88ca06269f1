"""The lumina_retention DAG on a loaded pipeline: real DAG runs against moto's S3 server and Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from lumina_sandbox import file_drops

CRM = "filedrop_crm_accounts"


def lake_runs(h: Any, zone: str) -> set[str]:
    pages = h.s3.get_paginator("list_objects_v2").paginate(Bucket="lumina-lake", Prefix=f"{zone}/")
    return {o["Key"].split("/")[3] for page in pages for o in page.get("Contents", [])}


@pytest.mark.integration
def test_retention_removes_what_expired_and_keeps_the_current_run(harness: Any) -> None:
    from lumina_integration.protection.retention import apply_retention, pipeline_targets
    from lumina_integration.protection.settings import data_protection
    from lumina_integration.staging.s3 import s3_client
    from lumina_integration.warehouse.connection import warehouse_target

    initial = file_drops.accounts_initial(n=120)
    harness.drop(initial)
    harness.run_ok(CRM)
    harness.drop(file_drops.accounts_delta(initial))
    harness.run_ok(CRM)
    [(current,)] = harness.rows("SELECT run_key FROM {s}.lumina_state WHERE pipeline_id = :p", p=CRM)
    runs = lake_runs(harness, "raw")
    assert len(runs) == 2 and current in runs
    # Quarantine rows from 100 days ago (not the current run's): expired under the 90 days of the settings.
    with harness.engine.begin() as conn:
        conn.execute(
            text(f'UPDATE "{harness.schema}".lumina_quarantine SET quarantined_at = :old WHERE run_key <> :current'),
            {"old": datetime.now(UTC) - timedelta(days=100), "current": current},
        )
    old_quarantine = harness.rows("SELECT COUNT(*) FROM {s}.lumina_quarantine WHERE run_key <> :c", c=current)[0][0]
    assert old_quarantine > 0

    # The DAG, today: the lake's runs were written minutes ago, so the guard keeps them all.
    run = harness.run("lumina_retention")
    assert str(run.state) == "success", harness.states(run)
    report = run.get_task_instance("remove_expired").xcom_pull(task_ids="remove_expired")
    assert report["warehouse"] == {"quarantine": {"customer": old_quarantine}}
    assert report["objects_removed"] == 0 and report["lake"] == {}
    assert lake_runs(harness, "raw") == runs
    [(rows_deleted, objects, mode)] = harness.rows(
        "SELECT rows_deleted, objects_deleted, mode FROM {s}.lumina_audit WHERE pipeline_id = 'lumina_retention'"
    )
    assert (rows_deleted, objects, mode) == (old_quarantine, 0, "retention")

    # 100 days on: every run of the pipeline has expired but the one behind the watermark.
    from pathlib import Path

    dags_dir = Path(harness.bag.dag_folder)
    later = apply_retention(
        pipeline_targets(dags_dir),
        data_protection().retention,
        warehouse=warehouse_target,
        lake=s3_client,
        now=datetime.now(UTC) + timedelta(days=100),
        run_id="manual__later",
    )
    for zone in ("raw", "canonical", "quarantine", "validation"):
        assert lake_runs(harness, zone) == {current}, zone
    assert later.runs_kept_protected == 4  # one per zone
    lake = later.to_xcom()["lake"]
    assert set(lake) == {"raw", "canonical", "quarantine", "validation"}
    assert all(set(v) == {"customer"} and min(v.values()) > 0 for v in lake.values())
    # Audit keeps 730 days and soft-deleted rows 365: at 100 days both stay; quarantine (90) was emptied today.
    assert later.to_xcom()["warehouse"] == {}
    assert harness.rows("SELECT COUNT(*) FROM {s}.lumina_audit WHERE entity = 'customer'") == [(2,)]
    assert harness.rows("SELECT COUNT(*) FROM {s}.customer WHERE _is_deleted") == [(5,)]
