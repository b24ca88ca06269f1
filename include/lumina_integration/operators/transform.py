"""The transform step: raw parts -> canonical parts through the pipeline's mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lumina_integration.operators.base import PipelineStepOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class TransformOperator(PipelineStepOperator):
    """Applies the mapping; unreadable records go to the run's quarantine parts with their reason."""

    ui_color = "#fdf3e1"

    def execute(self, context: Context) -> dict[str, Any]:
        from lumina_integration.operators.results import ExtractResult, TransformResult
        from lumina_integration.protection.erasure import ErasedSubjects
        from lumina_integration.protection.step import TransformProtection
        from lumina_integration.quarantine import quarantine_rows
        from lumina_integration.staging.parts import PartWriter, iter_tables, read_manifest
        from lumina_integration.transforms.apply import apply_mapping
        from lumina_integration.transforms.mapping import load_mapping

        spec, lake = self.spec, self.lake()
        mapping = load_mapping(spec.mapping)
        schema = mapping.entity_schema()
        plan = self.plan(context)
        only = plan.refresh_columns
        drift = plan.quarantine_reason
        raw = read_manifest(lake, ExtractResult.from_xcom(self.upstream(context, "extract")).manifest)
        canonical = PartWriter(
            lake, spec.staging.bucket, self.prefix("canonical", context), cursor_column=schema.cursor
        )
        rejected = PartWriter(lake, spec.staging.bucket, self.prefix("quarantine", context) + "transform/")
        # The PII policy: nothing this step writes holds a clear value of a protected column.
        protection = TransformProtection.for_mapping(mapping, schema)
        # Subjects erased on request (lumina_erasures) never come back from the source: withheld, and counted.
        erased = ErasedSubjects.for_pipeline(spec.load.warehouse_conn_id, schema)
        # Batch by batch (iter_tables decodes parts in slices): memory stays bounded however large a part is.
        for table in iter_tables(lake, raw):
            if drift:
                # The mapping no longer fits the source: keep every record, with the reason.
                rejected.write(protection.quarantine(quarantine_rows("transform", table, [drift] * table.num_rows)))
                continue
            result = protection.apply(apply_mapping(mapping, schema, table, only=only, withheld=protection.withheld))
            canonical.write(erased.withhold(result.canonical))
            rejected.write(result.rejected)
        canonical.manifest.extra = {"entity": schema.describe()}
        out, bad = canonical.close(), rejected.close()
        self.log.info(
            "Mapped %d records to %s v%d; %d rejected as unreadable; %d withheld (erased subject)",
            out.rows,
            schema.entity,
            schema.version,
            bad.rows,
            erased.withheld,
        )
        return TransformResult(out.uri, out.rows, bad.uri, bad.rows, erased.withheld).to_xcom()
