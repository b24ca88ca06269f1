"""Fault tests: real DAG runs of the Salesforce, ServiceNow and Jira pipelines (tasks inline or in worker
processes that get killed) against the sandboxes, moto's S3 server and the real Postgres."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from lumina_sandbox.salesforce import compare

LAKE = "lumina-lake"
# The pipelines' cron: */15 (a scheduled run owns one 15-minute interval).
INTERVAL = timedelta(minutes=15)


@dataclass
class Pipelines:
    """The DAGs, the warehouse schema and the sandbox state (``org``: a Salesforce org, a ServiceNow or Jira
    instance) of one test."""

    bag: Any
    engine: Any
    schema: str
    org: Any
    alerts: Any  # the Slack webhook stand-in every DAG's failure alerts go to
    # DAGs run instead of the DAGs folder's (same dag ids, other source options: see spec_variants.py)
    variants: dict[str, Any] = field(default_factory=dict)

    def run(
        self,
        dag_id: str,
        run_type: str = "manual",
        *,
        interval: tuple[datetime, datetime] | None = None,
        workers: dict[str, str | None] | None = None,
        conf: dict[str, Any] | None = None,
    ) -> Any:
        """One DAG run to its end; ``workers``: tasks run in worker processes, with a failpoint."""

        run = self.start(dag_id, run_type, interval=interval, conf=conf)
        run.drive(workers)
        return run

    def start(
        self,
        dag_id: str,
        run_type: str = "manual",
        *,
        interval: tuple[datetime, datetime] | None = None,
        conf: dict[str, Any] | None = None,
    ) -> Any:
        from airflow_runs import AirflowRun

        if run_type == "scheduled" and interval is None:
            interval = self.last_interval()
        return AirflowRun(self.variants.get(dag_id) or self.bag.dags[dag_id], run_type, interval, conf)

    def last_interval(self) -> tuple[datetime, datetime]:
        """The last complete 15-minute interval before the org's clock minus the safety lag."""
        now = self.org.now() - timedelta(minutes=1)
        end = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0)
        return end - INTERVAL, end

    def rows(self, query: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(query.replace("{s}", f'"{self.schema}"')), params)]

    def watermark(self, pipeline_id: str) -> datetime | None:
        found = self.rows("SELECT watermark FROM {s}.lumina_state WHERE pipeline_id = :p", p=pipeline_id)
        return found[0][0].astimezone(UTC) if found and found[0][0] else None

    def exact(self, dag_id: str, **kwargs: Any) -> compare.ExactComparison:
        return compare.exact(self.engine, self.schema, self.org, dag_id, **kwargs)

    def assert_equal(self, dag_id: str, **kwargs: Any) -> compare.ExactComparison:
        result = self.exact(dag_id, **kwargs)
        assert result.equal, result.describe()
        return result


def _empty_bucket(s3: Any, bucket: str) -> None:
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)
        return
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})


@pytest.fixture(scope="session")
def fault_dag_bag(airflow_db: None) -> Any:
    from airflow.dag_processing.dagbag import DagBag
    from airflow_runs import sync_dags

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    assert bag.import_errors == {}
    sync_dags(bag)
    return bag


def use_warehouse(schema: str) -> None:
    """Point the DAGs' warehouse connections at ``schema`` of the test Postgres."""
    from lumina_integration.warehouse.connection import warehouse_target

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


@pytest.fixture(scope="session")
def alert_sink() -> Iterator[Any]:
    """A Slack incoming-webhook stand-in behind the DAGs' ``lumina_alerts`` connection (workers inherit it)."""
    from lumina_sandbox.slack_webhook import WebhookSink

    sink = WebhookSink().start()
    os.environ["AIRFLOW_CONN_LUMINA_ALERTS"] = json.dumps(sink.connection())
    yield sink
    os.environ.pop("AIRFLOW_CONN_LUMINA_ALERTS", None)
    sink.stop()


# The connections whose circuit breakers a test may open.
SOURCE_CONNECTIONS = ("salesforce_default", "servicenow_default", "jira_default")


@pytest.fixture
def warehouse_runs(s3: Any, pg_schema: tuple[Any, str], fault_dag_bag: Any, alert_sink: Any) -> Iterator[Pipelines]:
    """A fresh warehouse schema, an empty lake and the DAGs; ``org``: the sandbox's state (an org, an instance),
    set by the test or the fixture that names its source."""
    from airflow_runs import close_breaker, forget_runs

    engine, schema = pg_schema
    use_warehouse(schema)
    _empty_bucket(s3, LAKE)
    forget_runs(fault_dag_bag.dag_ids)  # no earlier test's run can own this test's intervals
    for conn_id in SOURCE_CONNECTIONS:
        close_breaker(conn_id)
    alert_sink.clear()
    yield Pipelines(bag=fault_dag_bag, engine=engine, schema=schema, org=None, alerts=alert_sink)
    for conn_id in SOURCE_CONNECTIONS:
        close_breaker(conn_id)


@pytest.fixture
def pipelines(warehouse_runs: Pipelines, salesforce: Any) -> Pipelines:
    """The 1,200-account org (first loads over Bulk 2.0), a fresh warehouse schema and an empty lake."""
    warehouse_runs.org = salesforce.org
    return warehouse_runs
