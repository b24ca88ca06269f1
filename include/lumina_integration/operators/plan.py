"""The plan step: decide this run's extraction window. Nothing is fetched here."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from lumina_integration.operators.base import PipelineStepOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from lumina_integration.factory.spec import PipelineSpec


def plan_window(
    spec: PipelineSpec,
    *,
    run_type: str,
    source_now: datetime,
    watermark: datetime | None,
    interval: tuple[datetime, datetime] | None,
    requested: tuple[datetime | None, datetime | None] | None,
) -> dict[str, Any]:
    """The window and its semantics for one run (pure: unit-tested without Airflow).

    - a manual run with ``window_start``/``window_end`` params reprocesses exactly that window;
    - a backfill run reprocesses its data interval;
    - neither moves the live watermark;
    - any other run continues from the watermark (minus the lookback) and advances it.
    Every window ends no later than the source's own clock minus the safety lag.
    """
    from lumina_integration.window import Window

    cap = source_now - spec.window.safety_lag
    if requested is not None:
        start, end = requested
        end = min(end or cap, cap)
        window, advance, reason = Window(min(start, end) if start else None, end), False, "requested window"
    elif run_type == "backfill" and interval is not None:
        end = min(interval[1], cap)
        window, advance, reason = Window(min(interval[0], end), end), False, "backfill of its data interval"
    else:
        end = min(interval[1], cap) if (run_type == "scheduled" and interval is not None) else cap
        start = watermark - spec.window.lookback if watermark is not None else spec.window.initial_start
        window = Window(min(start, end) if start is not None else None, end)
        advance, reason = True, "continues from the watermark" if watermark else "first load"
    return {
        "window": window.to_xcom(),
        "advance_watermark": advance,
        # A reprocessing run reads every source version again; a continuing run skips the loaded ones.
        "reprocess": not advance,
        "watermark": watermark.isoformat() if watermark else None,
        "source_now": source_now.isoformat(),
        "reason": reason,
    }


class PlanOperator(PipelineStepOperator):
    """Reads the watermark and the source's clock; returns the window for the next steps."""

    ui_color = "#f4f0fa"

    def execute(self, context: Context) -> dict[str, Any]:
        from lumina_integration.hooks.registry import build_adapter
        from lumina_integration.warehouse.state import read_watermark
        from lumina_integration.window import parse_instant

        spec = self.spec
        target = self.warehouse()
        watermark = read_watermark(target.engine, target.schema, spec.pipeline_id)
        source_now = build_adapter(spec.source.type, spec.source.conn_id).server_now()
        params = context.get("params") or {}
        requested = None
        if params.get("window_start") or params.get("window_end"):
            requested = (parse_instant(params.get("window_start")), parse_instant(params.get("window_end")))
        dag_run = context["dag_run"]
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        plan = plan_window(
            spec,
            run_type=str(getattr(dag_run.run_type, "value", dag_run.run_type)),
            source_now=source_now,
            watermark=watermark,
            interval=(start, end) if start is not None and end is not None else None,
            requested=requested,
        )
        plan["run_key"] = self.run_key(context)
        self.log.info(
            "Window [%s, %s) (%s); watermark %s; source clock %s; advances watermark: %s",
            plan["window"]["start"],
            plan["window"]["end"],
            plan["reason"],
            plan["watermark"],
            plan["source_now"],
            plan["advance_watermark"],
        )
        return plan
