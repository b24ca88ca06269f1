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
        from lumina_integration.operators.results import ExtractResult, TransformResult, ValidateResult
        from lumina_integration.staging.parts import ManifestTables, iter_tables, read_manifest
        from lumina_integration.transforms.mapping import load_mapping
        from lumina_integration.warehouse.errors import values_withheld
        from lumina_integration.warehouse.loader import LoadRequest, load_run

        spec, lake = self.spec, self.lake()
        mapping = load_mapping(spec.mapping)
        schema = mapping.entity_schema()
        plan = self.plan(context)
        raw = read_manifest(lake, ExtractResult.from_xcom(self.upstream(context, "extract")).manifest)
        validated = ValidateResult.from_xcom(self.upstream(context, "validate"))
        transformed = TransformResult.from_xcom(self.upstream(context, "transform"))
        dag_run = context["dag_run"]
        request = LoadRequest(
            pipeline_id=spec.pipeline_id,
            run_key=plan.run_key,
            run_id=context["run_id"],
            run_type=str(getattr(dag_run.run_type, "value", dag_run.run_type)),
            entity=schema,
            window_start=plan.window.start,
            window_end=plan.window.end,
            advance_watermark=plan.advance_watermark,
            deletes=spec.load.deletes,
            sources=[SourceVersion(**s) for s in raw.extra.get("sources", [])],
            mode=plan.mode,
            refresh_columns=plan.refresh_columns or [],
            as_of=plan.source_now,
            api_calls=int(raw.extra.get("api_calls") or 0),
            bulk_jobs=int(raw.extra.get("bulk_jobs") or 0),
            schema_drift=self._schema_drift(plan.schema),
            fields_covered=plan.fields_covered,
            # A resync rewrites the rows of this source (its key constants) that it did not read.
            scope=mapping.source_key().constants if plan.mode == "resync" else {},
            read_started_at=plan.read_started_at,
        )
        quarantine_manifests = [
            read_manifest(lake, transformed.quarantine),
            read_manifest(lake, validated.quarantine),
        ]
        target = self.warehouse()
        # Quarantine rows hold whole records: a failed statement's message must not print them.
        with values_withheld():
            result = load_run(
                target.engine,
                target.schema,
                request,
                ManifestTables(lake, read_manifest(lake, validated.manifest)),  # re-readable: see first_load.py
                chain.from_iterable(iter_tables(lake, m) for m in quarantine_manifests),
                read_ids=self._read_ids(lake, raw, mapping) if plan.mode == "resync" else None,
            )
        self.log.info(
            "Loaded %s: %s; watermark %s -> %s",
            schema.entity,
            result.summary(),
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

    @staticmethod
    def _read_ids(lake: Any, raw: Any, mapping: Any) -> Any:
        """Every id the extract read (quarantined records included), as the key column they fill."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from lumina_integration.staging.parts import iter_tables

        key = mapping.source_key()
        for table in iter_tables(lake, raw, columns=[key.id_field]):
            ids = pc.drop_null(table.column(key.id_field).cast(pa.string()))
            yield pa.table({key.id_column: ids})

    def _schema_drift(self, uri: str | None) -> Any:
        """The change log and snapshot the plan step left in the lake at ``uri``, if it checked the schema."""
        import json

        from lumina_integration.staging.parts import split_uri
        from lumina_integration.warehouse.loader import SchemaDrift

        if not uri:
            return None
        bucket, key = split_uri(uri)
        document = json.loads(self.lake().get_object(Bucket=bucket, Key=key)["Body"].read())
        return SchemaDrift(document["object"], document["changes"], document["snapshot"])
