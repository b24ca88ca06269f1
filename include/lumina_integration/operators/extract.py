"""The extract step: stream the source's records for this run into raw Parquet parts.

What is read depends on the run's mode (decided by ``plan``):
- ``incremental``: the records whose cursor is in the window (deletions as tombstones);
- ``reconcile``: tombstones for warehouse ids the source no longer has, plus the records the
  warehouse lacks or holds with an older stamp (the adapter compares every live record's
  ``(key, stamp)`` with the warehouse's); for file drops, every file version the ledger lacks;
- ``refresh``: the id and the refreshed fields of every live record;
- ``resync``: every record of the object, as an incremental read of ``[beginning, source clock)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lumina_integration.operators.base import PipelineStepOperator

if TYPE_CHECKING:
    import pyarrow as pa
    from airflow.sdk import Context

    from lumina_integration.hooks.base import SourceAdapter
    from lumina_integration.hooks.capabilities import Reconciles
    from lumina_integration.operators.results import Plan


class ExtractOperator(PipelineStepOperator):
    """Reads what ``plan`` decided through the source adapter; writes ``raw/.../<run key>/``."""

    ui_color = "#e3f4ea"

    def execute(self, context: Context) -> dict[str, Any]:
        from lumina_integration import failpoints
        from lumina_integration.hooks.base import RunContext
        from lumina_integration.hooks.capabilities import ExtractUsage, ReportsUsage, supports
        from lumina_integration.operators.results import ExtractResult
        from lumina_integration.staging.checkpoint import S3Checkpoint
        from lumina_integration.staging.parts import PartWriter

        spec, plan, lake = self.spec, self.plan(context), self.lake()
        checkpoint = S3Checkpoint(lake, spec.staging.bucket, self.prefix("checkpoints", context))
        calls_24h, jobs_24h = plan.spent_24h
        writer = PartWriter(lake, spec.staging.bucket, self.prefix("raw", context))
        with self.stop_without_retry():
            adapter = self.source(RunContext(spec.pipeline_id, checkpoint, calls_24h, jobs_24h))
            for batch in self._batches(adapter, plan):
                writer.write(batch)
        sources = adapter.versions_read()
        usage = adapter.usage() if supports(adapter, ReportsUsage) else ExtractUsage()
        writer.manifest.extra = {
            "mode": plan.mode,
            "window": plan.window.to_xcom(),
            "sources": [asdict(s) for s in sources],
            "api_calls": usage.api_calls,
            "bulk_jobs": usage.bulk_jobs,
            "transport": usage.transport,
            "reconciled": usage.reconciled,
        }
        manifest = writer.close()
        failpoints.hit("extract.after_manifest")
        self.log.info(
            "Extracted %d records (%s run, %d source version(s), %s API calls, transport %s) into %s",
            manifest.rows,
            writer.manifest.extra["mode"],
            len(sources),
            writer.manifest.extra["api_calls"],
            writer.manifest.extra["transport"],
            manifest.uri,
        )
        return ExtractResult(manifest.uri, manifest.rows, len(sources)).to_xcom()

    def _batches(self, adapter: SourceAdapter, plan: Plan) -> Iterator[pa.RecordBatch]:
        from lumina_integration.hooks.base import StopRun
        from lumina_integration.hooks.capabilities import ReadsColumns, Reconciles, supports
        from lumina_integration.warehouse.state import loaded_versions

        spec = self.spec
        options = dict(spec.source.options)
        if not plan.read:
            return
        if plan.mode == "refresh":
            if not supports(adapter, ReadsColumns):  # the registry refuses such a registration at parse time
                raise StopRun(f"the {spec.source.type} adapter cannot refresh (it has no read_columns)")
            yield from adapter.read_columns(spec.source.object, plan.refresh.fields if plan.refresh else [], options)
            return
        if plan.fields:
            options["fields"] = plan.fields
        if plan.mode == "reconcile" and supports(adapter, Reconciles):
            yield from self._reconcile_records(adapter, plan.source_now, options)
            return
        already: frozenset[tuple[str, str]] = frozenset()
        # A continuing run skips the source versions loaded since its window began. A reconcile of
        # a resource-level source (file drops) reads every version the ledger lacks, whatever its
        # modification time says (a replaced file whose LastModified is below every window).
        if plan.mode == "reconcile" or not plan.reprocess:
            target = self.warehouse()
            since = None if plan.mode == "reconcile" else plan.window.start
            already = loaded_versions(target.engine, target.schema, spec.pipeline_id, since)
        yield from adapter.read(spec.source.object, plan.window, options, already_loaded=already)

    def _reconcile_records(
        self, adapter: Reconciles, as_of: datetime, options: dict[str, Any]
    ) -> Iterator[pa.RecordBatch]:
        """The adapter compares the source's ``(key, stamp)`` of every live record with the warehouse's."""
        from lumina_integration.transforms.mapping import load_mapping
        from lumina_integration.warehouse.ids import live_source_versions

        mapping = load_mapping(self.spec.mapping)
        target = self.warehouse()
        known = live_source_versions(target.engine, target.schema, mapping.entity_schema(), mapping.source_key())
        stamp_field = mapping.source_cursor()
        if stamp_field is None:
            self.log.warning("The mapping computes the cursor column: reconciling ids only, not versions")
        yield from adapter.reconcile(self.spec.source.object, known, as_of, options, stamp_field=stamp_field)
