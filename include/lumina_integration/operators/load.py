"""The load step: validated parts and quarantine rows into the warehouse in one transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lumina_integration.operators.base import PipelineStepOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


def entity_asset_uri(entity: str) -> str:
    """The Asset that downstream DAGs schedule on; one per canonical table."""
    return f"lumina://warehouse/{entity}"


class LoadOperator(PipelineStepOperator):
    """COPY -> merge with cursor guard -> deletes -> quarantine -> watermark -> audit -> commit."""

    ui_color = "#e6eef7"

    def execute(self, context: Context) -> dict[str, Any]:
        from itertools import chain

        from lumina_integration.hooks.base import SourceVersion
        from lumina_integration.staging.parts import iter_tables, read_manifest
        from lumina_integration.transforms.mapping import load_mapping
        from lumina_integration.warehouse.loader import LoadRequest, load_run
        from lumina_integration.window import Window

        spec, lake = self.spec, self.lake()
        schema = load_mapping(spec.mapping).entity_schema()
        plan = self.upstream(context, "plan")
        raw = read_manifest(lake, self.upstream(context, "extract")["manifest"])
        validated = self.upstream(context, "validate")
        transformed = self.upstream(context, "transform")
        window = Window.from_xcom(plan["window"])
        dag_run = context["dag_run"]
        request = LoadRequest(
            pipeline_id=spec.pipeline_id,
            run_key=plan["run_key"],
            run_id=context["run_id"],
            run_type=str(getattr(dag_run.run_type, "value", dag_run.run_type)),
            entity=schema,
            window_start=window.start,
            window_end=window.end,
            advance_watermark=plan["advance_watermark"],
            deletes=spec.load.deletes,
            sources=[SourceVersion(**s) for s in raw.extra.get("sources", [])],
        )
        quarantine_manifests = [
            read_manifest(lake, transformed["quarantine"]),
            read_manifest(lake, validated["quarantine"]),
        ]
        target = self.warehouse()
        result = load_run(
            target.engine,
            target.schema,
            request,
            iter_tables(lake, read_manifest(lake, validated["manifest"])),
            chain.from_iterable(iter_tables(lake, m) for m in quarantine_manifests),
        )
        self.log.info(
            "Loaded %s: %d staged, %d inserted, %d updated, %d unchanged, %d deleted, %d quarantined; "
            "watermark %s -> %s",
            schema.entity,
            result.rows_staged,
            result.rows_inserted,
            result.rows_updated,
            result.rows_unchanged,
            result.rows_deleted,
            result.rows_quarantined,
            result.watermark_before,
            result.watermark_after,
        )
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = {
                "run_key": request.run_key,
                "inserted": result.rows_inserted,
                "updated": result.rows_updated,
                "deleted": result.rows_deleted,
            }
        return result.to_xcom()
