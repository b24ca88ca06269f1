"""The validate step: the entity's Great Expectations suite over every canonical part."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from lumina_integration.operators.base import PipelineStepOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class ValidateOperator(PipelineStepOperator):
    """Splits canonical rows into validated parts and quarantine parts, per the pipeline's policy.

    ``fail``: any rejected record fails the task with AirflowFailException (a data problem is not
    retried). ``quarantine``: rejected records load into the quarantine table with their reason
    and the good ones continue. Expectations that cannot be pinned to rows fail either way.
    """

    ui_color = "#fbe9e9"

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from lumina_integration.canonical.schema import DELETED_COLUMN
        from lumina_integration.operators.results import TransformResult, ValidateResult
        from lumina_integration.protection.checks import suite_specs
        from lumina_integration.protection.policy import entity_policy
        from lumina_integration.quality.runner import REASON_COLUMN, validate_table
        from lumina_integration.quarantine import quarantine_rows
        from lumina_integration.staging.parts import PartWriter, iter_tables, read_manifest
        from lumina_integration.transforms.mapping import load_mapping

        spec, lake = self.spec, self.lake()
        schema = load_mapping(spec.mapping).entity_schema()
        transformed = TransformResult.from_xcom(self.upstream(context, "transform"))
        canonical = read_manifest(lake, transformed.manifest)
        valid = PartWriter(
            lake,
            spec.staging.bucket,
            self.prefix("canonical", context) + "validated/",
            cursor_column=schema.cursor,
        )
        rejected = PartWriter(lake, spec.staging.bucket, self.prefix("quarantine", context) + "validate/")
        reports, table_failures, warnings = [], [], []
        # The transform already checked protected columns' values in the clear (protection.checks).
        specs = suite_specs(schema, entity_policy(schema))
        refreshed = self.plan(context).refresh_columns
        if refreshed is not None:
            # A refresh carries a few columns: check the expectations that look only at those.
            present = {*schema.primary_key, *refreshed, DELETED_COLUMN}
            specs = [s for s in specs if set(s.columns) <= present]
        # The same 50k-row slices as the other steps: 100k-row slices were 10% faster through Great
        # Expectations (a fixed cost per call) but held 40 MB more at the peak (bench/README.md).
        for table in iter_tables(lake, canonical):
            outcome = validate_table(schema, table, specs)
            valid.write(outcome.good)
            if outcome.bad.num_rows:
                reasons = outcome.bad.column(REASON_COLUMN).to_pylist()
                rejected.write(quarantine_rows("validate", outcome.bad.drop_columns([REASON_COLUMN]), reasons))
            table_failures += outcome.table_failures
            warnings += outcome.warnings
            reports.append(outcome.result)
        good, bad = valid.close(), rejected.close()
        report_key = self.prefix("validation", context) + "report.json"
        lake.put_object(
            Bucket=spec.staging.bucket,
            Key=report_key,
            Body=json.dumps(
                {"parts": reports, "table_failures": table_failures, "warnings": warnings},
                indent=2,
                default=str,
            ).encode(),
        )
        total_rejected = bad.rows + transformed.rejected
        self.log.info(
            "Validation of %s v%d: %d rows passed, %d failed expectations, %d unreadable; %d table-level "
            "failure(s), %d warning(s); report s3://%s/%s",
            schema.entity,
            schema.version,
            good.rows,
            bad.rows,
            transformed.rejected,
            len(table_failures),
            len(warnings),
            spec.staging.bucket,
            report_key,
        )
        for message in table_failures + warnings:
            self.log.warning("%s", message)
        if table_failures:
            raise AirflowFailException(
                f"{len(table_failures)} expectation(s) failed for the whole batch: " + "; ".join(table_failures[:5])
            )
        if spec.validation.policy == "fail" and total_rejected:
            raise AirflowFailException(
                f"{total_rejected} record(s) were rejected and the pipeline's validation policy is 'fail'; "
                f"see s3://{spec.staging.bucket}/{report_key}"
            )
        return ValidateResult(
            good.uri, good.rows, bad.uri, bad.rows, f"s3://{spec.staging.bucket}/{report_key}"
        ).to_xcom()
