"""Pipelines end to end: real DAG runs (dag.test) against moto's S3 server and the real Postgres."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from lumina_sandbox import file_drops

LANDING, LAKE = "lumina-landing", "lumina-lake"


@dataclass
class PipelineHarness:
    s3: Any
    engine: Any
    schema: str
    bag: Any

    def drop(self, *drops: file_drops.Drop) -> None:
        for drop in drops:
            file_drops.upload(self.s3, LANDING, drop)
        # Windows end at S3's clock, which has one-second resolution (see the demo).
        time.sleep(1.1)

    def run(self, dag_id: str, **kwargs: Any) -> Any:
        return self.bag.dags[dag_id].test(**kwargs)

    def load_result(self, run: Any) -> dict[str, Any]:
        value = run.get_task_instance("load").xcom_pull(task_ids="load")
        assert isinstance(value, dict), f"load did not succeed: {self.states(run)}"
        return value

    def run_ok(self, dag_id: str, **kwargs: Any) -> dict[str, Any]:
        """Run ``dag_id``, assert it succeeded, and return its load step's result."""
        run = self.run(dag_id, **kwargs)
        assert str(run.state) == "success", self.states(run)
        return self.load_result(run)

    def quarantined(self, pipeline_id: str) -> int:
        return int(self.rows("SELECT COUNT(*) FROM {s}.lumina_quarantine WHERE pipeline_id = :p", p=pipeline_id)[0][0])

    @staticmethod
    def states(run: Any) -> dict[str, str]:
        return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}

    def rows(self, query: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(query.replace("{s}", f'"{self.schema}"')), params)]

    def count(self, table: str) -> int:
        """Rows in ``table``; 0 when it does not exist (Postgres rolls back the DDL with the data)."""
        exists = self.rows(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = :s AND table_name = :t",
            s=self.schema,
            t=table,
        )
        return self.rows(f"SELECT COUNT(*) FROM {{s}}.{table}")[0][0] if exists else 0

    def watermark(self, pipeline_id: str) -> Any:
        found = self.rows("SELECT watermark FROM {s}.lumina_state WHERE pipeline_id = :p", p=pipeline_id)
        return found[0][0] if found else None


def _empty_bucket(s3: Any, bucket: str) -> None:
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)
        return
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})


@pytest.fixture(scope="module")
def dag_bag(airflow_db: None) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    assert bag.import_errors == {}
    return bag


@pytest.fixture
def harness(s3: Any, pg_schema: tuple[Any, str], dag_bag: Any) -> Iterator[PipelineHarness]:
    from lumina_integration.warehouse.connection import warehouse_target

    engine, schema = pg_schema
    # Both warehouse connections the DAGs use point at this test's Postgres schema.
    for conn_id in ("LUMINA_WAREHOUSE", "LUMINA_WAREHOUSE_POSTGRES"):
        os.environ[f"AIRFLOW_CONN_{conn_id}"] = json.dumps(
            {
                "conn_type": "postgres",
                "host": "127.0.0.1",
                "port": 5432,
                "login": "postgres",
                "schema": "test",
                "extra": {"warehouse_schema": schema},
            }
        )
    warehouse_target.cache_clear()
    for bucket in (LANDING, LAKE):
        _empty_bucket(s3, bucket)
    yield PipelineHarness(s3=s3, engine=engine, schema=schema, bag=dag_bag)
    warehouse_target.cache_clear()
