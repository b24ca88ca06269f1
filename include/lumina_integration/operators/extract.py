"""The extract step: stream the window's records from the source into raw Parquet parts."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from lumina_integration.operators.base import PipelineStepOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class ExtractOperator(PipelineStepOperator):
    """Reads ``plan``'s window through the source adapter; writes ``raw/.../<run key>/``."""

    ui_color = "#e3f4ea"

    def execute(self, context: Context) -> dict[str, Any]:
        from lumina_integration.hooks.registry import build_adapter
        from lumina_integration.staging.parts import PartWriter
        from lumina_integration.warehouse.state import loaded_versions
        from lumina_integration.window import Window

        spec, plan = self.spec, self.upstream(context, "plan")
        window = Window.from_xcom(plan["window"])
        already: frozenset[tuple[str, str]] = frozenset()
        if not plan["reprocess"]:
            target = self.warehouse()
            already = loaded_versions(target.engine, target.schema, spec.pipeline_id, window.start)
        adapter = build_adapter(spec.source.type, spec.source.conn_id)
        writer = PartWriter(self.lake(), spec.staging.bucket, self.prefix("raw", context))
        for batch in adapter.read(spec.source.object, window, spec.source.options, already_loaded=already):
            writer.write(batch)
        sources = adapter.versions_read()
        writer.manifest.extra = {"window": plan["window"], "sources": [asdict(s) for s in sources]}
        manifest = writer.close()
        self.log.info(
            "Extracted %d records from %d source version(s) (%d already loaded, skipped) into %s",
            manifest.rows,
            len(sources),
            len(already),
            manifest.uri,
        )
        return {"manifest": manifest.uri, "rows": manifest.rows, "sources": len(sources)}
