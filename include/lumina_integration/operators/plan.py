"""The plan step: decide this run's extraction window. Nothing is fetched here."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lumina_integration.hooks.base import StopRun
from lumina_integration.operators.base import PipelineStepOperator
from lumina_integration.operators.results import RUN_MODES, Plan, RunMode
from lumina_integration.window import Window

if TYPE_CHECKING:
    from airflow.sdk import Context

    from lumina_integration.factory.spec import PipelineSpec
    from lumina_integration.hooks.capabilities import DescribesFields


class SourceClockBehind(StopRun):
    """The source's clock is further behind the watermark than the lookback reaches: what it stamps
    now would land below every window. Retrying would not help; the clock has to be fixed."""


def check_source_clock(spec: PipelineSpec, source_now: datetime, watermark: datetime) -> None:
    """Refuse to continue when ``source_now`` is behind ``watermark`` by more than the lookback."""
    behind = watermark - source_now
    if behind > spec.window.lookback:
        raise SourceClockBehind(
            f"{spec.dag_id}: the source clock {source_now.isoformat()} is behind the watermark "
            f"{watermark.isoformat()} by {behind}, more than the lookback {spec.window.lookback}: records the "
            f"source stamps now would fall below every window and never be read. Fix the source's clock (runs "
            f"continue once it passes {(watermark - spec.window.lookback).isoformat()}), then run "
            f"{spec.dag_id}__reconcile to read what was stamped in between."
        )


def plan_window(
    spec: PipelineSpec,
    *,
    run_type: str,
    source_now: datetime,
    watermark: datetime | None,
    interval: tuple[datetime, datetime] | None,
    requested: tuple[datetime | None, datetime | None] | None,
) -> Plan:
    """The window and its semantics for one run (pure: unit-tested without Airflow).

    - a manual run with ``window_start``/``window_end`` params reprocesses exactly that window;
    - a backfill run reprocesses its data interval;
    - neither moves the live watermark;
    - any other run continues from the watermark (minus the lookback) and advances it; it fails
      (:class:`SourceClockBehind`) when the source's clock is behind the watermark by more than the lookback.
    Every window ends no later than the source's own clock minus the safety lag.
    """
    cap = source_now - spec.window.safety_lag
    if requested is not None:
        start, end = requested
        end = min(end or cap, cap)
        window, advance, reason = Window(min(start, end) if start else None, end), False, "requested window"
    elif run_type == "backfill" and interval is not None:
        end = min(interval[1], cap)
        window, advance, reason = Window(min(interval[0], end), end), False, "backfill of its data interval"
    else:
        if watermark is not None:
            check_source_clock(spec, source_now, watermark)
        end = min(interval[1], cap) if (run_type == "scheduled" and interval is not None) else cap
        start = watermark - spec.window.lookback if watermark is not None else spec.window.initial_start
        window = Window(min(start, end) if start is not None else None, end)
        advance, reason = True, "continues from the watermark" if watermark else "first load"
    return Plan(
        window=window,
        advance_watermark=advance,
        # A reprocessing run reads every source version again; a continuing run skips the loaded ones.
        reprocess=not advance,
        watermark=watermark,
        source_now=source_now,
        reason=reason,
    )


def maintenance_window(source_now: datetime, mode: RunMode = "reconcile") -> Plan:
    """Maintenance runs look at every live record as of the source's clock and never move the watermark.

    A resync also notes when it began reading (the worker's clock, like the rows' ``_lumina_loaded_at``):
    its load rewrites only rows no other run loaded since then.
    """
    return Plan(
        window=Window(None, source_now),
        advance_watermark=False,
        reprocess=True,
        source_now=source_now,
        reason="whole object as of the source clock",
        mode=mode,
        read_started_at=datetime.now(UTC) if mode == "resync" else None,
    )


class PlanOperator(PipelineStepOperator):
    """Reads the state and the source's clock and schema; returns what the next steps do.

    Args:
        mode: ``incremental`` (the pipeline's own DAG), ``reconcile`` (version comparison: hard
            deletes, gaps, updates stamped below the lookback), ``refresh`` (formula fields and
            column-only backfills) or ``resync`` (the whole object rewritten, the watermark kept).
    """

    ui_color = "#f4f0fa"

    def __init__(self, *, mode: RunMode = "incremental", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in RUN_MODES:
            raise ValueError(f"unknown run mode {mode!r}; use one of {RUN_MODES}")
        self.mode = mode

    def execute(self, context: Context) -> dict[str, Any]:
        from lumina_integration.hooks.base import RunContext
        from lumina_integration.hooks.capabilities import DescribesFields, EstimatesCost, supports
        from lumina_integration.transforms.mapping import load_mapping
        from lumina_integration.warehouse.state import read_state

        spec = self.spec
        # Before anything is read or written: the run must stage into this environment's own lake.
        self.check_lake_endpoint()
        self.check_lake_region()
        target = self.warehouse()
        mapping = load_mapping(spec.mapping)
        state = read_state(target.engine, target.schema, spec.pipeline_id)
        with self.stop_without_retry():
            adapter = self.source(RunContext(spec.pipeline_id, None, state.api_calls_24h, state.bulk_jobs_24h))
            source_now = adapter.server_now()
            if self.mode == "incremental":
                plan = plan_window(
                    spec,
                    run_type=self._run_type(context),
                    source_now=source_now,
                    watermark=state.watermark,
                    interval=self._interval(context),
                    requested=self._requested(context),
                )
            else:
                plan = maintenance_window(source_now, self.mode)
            plan = replace(
                plan,
                mode=self.mode,
                run_key=self.run_key(context),
                spent_24h=(state.api_calls_24h, state.bulk_jobs_24h),
            )
            if supports(adapter, DescribesFields):
                plan = self._schema_plan(plan, adapter, mapping, state, context)
            if self.mode in ("incremental", "resync") and supports(adapter, EstimatesCost) and plan.read:
                options = {**spec.source.options, **({"fields": plan.fields} if plan.fields else {})}
                plan = replace(plan, estimate=adapter.estimate(spec.source.object, plan.window, options))
        out = plan.to_xcom()
        self.log.info(
            "%s run: window [%s, %s) (%s); watermark %s; source clock %s; advances watermark: %s; estimate %s",
            self.mode,
            out["window"]["start"],
            out["window"]["end"],
            out["reason"],
            out["watermark"],
            out["source_now"],
            out["advance_watermark"],
            out.get("estimate", "-"),
        )
        return out

    @staticmethod
    def _run_type(context: Context) -> str:
        dag_run = context["dag_run"]
        return str(getattr(dag_run.run_type, "value", dag_run.run_type))

    @staticmethod
    def _interval(context: Context) -> tuple[datetime, datetime] | None:
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        return (start, end) if start is not None and end is not None else None

    @staticmethod
    def _requested(context: Context) -> tuple[datetime | None, datetime | None] | None:
        from lumina_integration.window import parse_instant

        # The run's own conf, not context["params"]: Airflow writes each run's conf into the DAG's Param
        # objects in place, so in a process that runs several DAG runs (dag.test(), the demo) the params
        # still hold the last manual run's window. The trigger form's params arrive in the conf too.
        conf = getattr(context.get("dag_run"), "conf", None) or {}
        if conf.get("window_start") or conf.get("window_end"):
            return parse_instant(conf.get("window_start")), parse_instant(conf.get("window_end"))
        return None

    def _schema_plan(self, plan: Plan, adapter: DescribesFields, mapping: Any, state: Any, context: Context) -> Plan:
        """``plan`` with drift against the stored snapshot, the fields to read, and (refresh runs) what to refresh."""
        import json

        from airflow.sdk.exceptions import AirflowFailException

        from lumina_integration.drift import decide, snapshot_of
        from lumina_integration.refresh import plan_refresh

        spec = self.spec
        fields = adapter.fields(spec.source.object)
        current = snapshot_of(fields)
        decision = decide(spec.schema_drift.policy, state.snapshot, current, mapping.source_fields())
        if decision.failure:
            raise AirflowFailException(decision.failure)
        readable = decision.read_fields or list(current)
        # The snapshot and change list can be large (wide objects): they go to the lake, not XCom.
        key = self.prefix("schema", context) + "drift.json"
        document = {"object": spec.source.object, "snapshot": decision.new_snapshot, "changes": decision.changes}
        self.lake().put_object(Bucket=spec.staging.bucket, Key=key, Body=json.dumps(document).encode())
        plan = replace(
            plan,
            fields=decision.read_fields,
            schema_changes=len(decision.changes),
            quarantine_reason=decision.quarantine_reason or None,
            schema=f"s3://{spec.staging.bucket}/{key}",
        )
        for change in decision.changes:
            self.log.warning(
                "Schema drift in %s: %s %s -> %s",
                spec.source.object,
                change["field"],
                change["change"],
                change["action"],
            )
        mapped = {f.lower() for f in mapping.source_fields()}
        if self.mode == "incremental" and state.fields_covered is None:
            plan = replace(plan, fields_covered=sorted(f for f in readable if f.lower() in mapped))
        if self.mode == "refresh":
            calculated = [f.name for f in fields if f.calculated]
            refresh = plan_refresh(mapping, readable, calculated, state.fields_covered)
            plan = replace(plan, refresh=refresh, read=not refresh.empty)
            if refresh.backfill_fields:
                plan = replace(plan, fields_covered=sorted({*(state.fields_covered or []), *refresh.backfill_fields}))
            self.log.info(
                "Refreshing %s from %s (formulas %s, never-filled fields %s)",
                refresh.columns or "nothing",
                refresh.fields,
                refresh.formula_fields,
                refresh.backfill_fields,
            )
        return plan
