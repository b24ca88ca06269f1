"""What every pipeline step shares: its spec, the run's key, its upstream results, its clients.

Step operators take the pipeline spec as a plain dict (JSON-safe, rebuilt identically whenever
Airflow parses the DAG) and import heavy libraries only inside ``execute``: DAG parsing must
never pay for pyarrow, boto3, SQLAlchemy or Great Expectations.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from lumina_integration.factory.spec import PipelineSpec
from lumina_integration.operators.auth_events import FlushesAuthEvents

if TYPE_CHECKING:
    from airflow.sdk import Context

    from lumina_integration.hooks.base import RunContext, SourceAdapter
    from lumina_integration.operators.results import Plan
    from lumina_integration.warehouse.connection import WarehouseTarget


class PipelineStepOperator(FlushesAuthEvents, BaseOperator):
    """Base of the plan, extract, transform, validate and load operators.

    Each ``execute`` ends by writing the authentication events its hooks collected (:class:`FlushesAuthEvents`).

    Args:
        pipeline: the validated pipeline spec as a dict (``PipelineSpec.model_dump(mode="json")``).
    """

    template_fields: Sequence[str] = ()
    ui_color = "#e8f1fb"

    def __init__(self, *, pipeline: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Validated here, without I/O, so a bad spec fails at parse time rather than mid-run.
        PipelineSpec.model_validate(pipeline)
        self.pipeline = pipeline

    @cached_property
    def spec(self) -> PipelineSpec:
        return PipelineSpec.model_validate(self.pipeline)

    def auth_events_destination(self) -> tuple[str, str | None]:
        return self.spec.load.warehouse_conn_id, self.spec.pipeline_id

    @staticmethod
    def upstream(context: Context, task_id: str) -> dict[str, Any]:
        value = context["ti"].xcom_pull(task_ids=task_id)
        if not isinstance(value, dict):
            raise RuntimeError(f"upstream task {task_id!r} left no result; was it skipped or cleared?")
        return value

    def plan(self, context: Context) -> Plan:
        """This run's plan, as the plan step decided it."""
        from lumina_integration.operators.results import Plan

        return Plan.from_xcom(self.upstream(context, "plan"))

    def run_key(self, context: Context) -> str:
        from lumina_integration.staging.layout import run_key

        return run_key(self.dag_id, context["run_id"])

    def lake(self) -> Any:
        from lumina_integration.staging.s3 import s3_client

        return s3_client(self.spec.staging.conn_id)

    def check_lake_endpoint(self) -> None:
        """Refuse to run when the lake connection points elsewhere than this environment's lake.

        Two checkouts on one machine each run their own S3 sandbox; a connection imported in the other
        one's environment (or a port changed without re-importing) would stage raw records, quarantine
        and checkpoints into the other checkout's lake. "Configured" is the environment's declared lake
        endpoint (``LUMINA_S3_ENDPOINT``, or the sandbox on ``LUMINA_S3_PORT``); a deployment that
        declares none is not checked. An endpoint still holding a ``${...}`` placeholder (settings
        imported by a tool that does not expand them) is refused everywhere. Costs one connection lookup.
        """
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        from airflow.sdk.exceptions import AirflowFailException

        from lumina_integration.environment import declared_lake_endpoint, same_endpoint

        conn_id = self.spec.staging.conn_id
        actual = S3Hook(aws_conn_id=conn_id).conn_config.get_service_endpoint_url("s3")
        if actual is not None and "${" in actual:
            raise AirflowFailException(
                f"the lake connection {conn_id!r} has the unexpanded endpoint_url {actual!r}; "
                "import airflow_settings.yaml with `lumina settings-import` (or set the connection's endpoint)"
            )
        configured = declared_lake_endpoint()
        if configured is not None and not same_endpoint(actual, configured):
            raise AirflowFailException(
                f"the lake connection {conn_id!r} points at {actual or 'the default AWS endpoint'}, but this "
                f"environment's lake is {configured} (LUMINA_S3_ENDPOINT / LUMINA_S3_PORT): refusing to stage "
                "into another environment's lake; re-import the settings (`make settings`) or fix the connection"
            )

    def check_lake_region(self) -> None:
        """Refuse to run when the lake is not where residency says (a pipeline that declares a region only).

        Lint and parsing compared the declarations; here the lake connection's ``region_name`` and the
        bucket's location as S3 reports it are compared with the bucket's declared region, so a
        connection or a bucket moved since is caught before anything is staged. Costs one S3 call.
        """
        if self.spec.region is None:
            return
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        from airflow.sdk.exceptions import AirflowFailException
        from botocore.exceptions import ClientError

        from lumina_integration.protection.residency import lake_region_problems

        bucket = self.spec.staging.bucket
        connection_region = S3Hook(aws_conn_id=self.spec.staging.conn_id).conn_config.region_name
        try:
            location = self.lake().get_bucket_location(Bucket=bucket).get("LocationConstraint")
            # S3 reports us-east-1 as no constraint, and eu-west-1 as "EU" for old buckets.
            bucket_region: str | None = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)
        except ClientError as exc:
            self.log.warning("Cannot read the location of bucket %s (%s): its region is not checked", bucket, exc)
            bucket_region = None
        problems = lake_region_problems(self.spec, connection_region, bucket_region)
        if problems:
            raise AirflowFailException("residency: " + "; ".join(problems))

    def prefix(self, zone: str, context: Context) -> str:
        from lumina_integration.staging.layout import run_prefix

        return run_prefix(zone, self.spec.source.type, self.spec.source.object, self.run_key(context))

    def warehouse(self) -> WarehouseTarget:
        from lumina_integration.warehouse.connection import warehouse_target

        return warehouse_target(self.spec.load.warehouse_conn_id)

    def source(self, run: RunContext | None = None) -> SourceAdapter:
        """The pipeline's source adapter, bound to this run when the adapter takes a run context."""
        from lumina_integration.hooks.capabilities import BindsRun, supports
        from lumina_integration.hooks.registry import build_adapter

        adapter = build_adapter(self.spec.source.type, self.spec.source.conn_id)
        if run is not None and supports(adapter, BindsRun):
            adapter.bind(run)
        return adapter

    @contextmanager
    def stop_without_retry(self) -> Iterator[None]:
        """A source or budget refusal fails the task without a retry (it would only burn quota)."""
        from airflow.sdk.exceptions import AirflowFailException

        from lumina_integration.hooks.base import StopRun

        try:
            yield
        except StopRun as exc:
            raise AirflowFailException(str(exc)) from exc
