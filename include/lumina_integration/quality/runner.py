"""Validate an Arrow table of a canonical entity with its Great Expectations suite.

Rows that break a critical row-level expectation are split off into a quarantine table with the
reason, so one bad record does not stop a whole load; failures that cannot be pinned to rows (a
missing column, a row count) fail the batch. The JSON summary holds counts, percentages and the
first unexpected values, with every value of a personal column masked (:mod:`.masking`), as are
the reasons and failure messages; task logs and the quarantine table show them.

Great Expectations and pandas are imported inside the functions: this module may be imported
while Airflow parses DAG files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lumina_integration.canonical.schema import EntitySchema, PiiClass
from lumina_integration.protection.quoting import clip, mask, shown_value
from lumina_integration.quality.gx_import import import_great_expectations
from lumina_integration.quality.masking import expectation_pii, report_details
from lumina_integration.quality.suite import (
    SPEC_INDEX_META,
    ExpectationSpec,
    build_suite,
    expectation_specs,
    load_extra_expectations,
    suite_name,
)

if TYPE_CHECKING:
    import pandas as pd

REASON_COLUMN = "_lumina_reason"
_CACHE_SIZE = 32


@dataclass(frozen=True)
class ValidationOutcome:
    """The result of :func:`validate_table`.

    Attributes:
        good: the rows that passed every critical row-level expectation, in input order, with the
            input's schema.
        bad: the rows that failed one, in input order, with the input's columns plus
            ``_lumina_reason``: every failed expectation of the row, joined with ``"; "``.
        table_failures: critical failures that cannot be pinned to rows (a missing column, a row
            count, an expectation that raised an error).
        warnings: failed expectations of severity ``warning``; their rows stay in ``good``.
        result: a JSON-safe summary (suite, success, statistics, one entry per expectation, with the
            counts and first unexpected values of a failed one) where no value of a personal column
            appears.
    """

    good: pa.Table
    bad: pa.Table
    table_failures: list[str]
    warnings: list[str]
    result: dict[str, Any]

    @property
    def success(self) -> bool:
        """True when nothing failed the batch and no row was quarantined."""
        return not self.table_failures and self.bad.num_rows == 0


@dataclass
class _PreparedSuite:
    """A GX context, batch definition and suite, built once per entity version and spec list."""

    context: Any
    batch_definition: Any
    suite: Any
    # One batch definition validates one dataframe at a time.
    lock: threading.Lock

    def validate(self, frame: pd.DataFrame, specs: list[ExpectationSpec]) -> list[Any]:
        """Run the suite on ``frame``; returns GX's expectation validation results.

        Most batches pass every expectation, and GX's ``COMPLETE`` results (unexpected rows, values
        and counts) cost about 40% of a validation even then (bench/README.md). So the suite runs
        with ``BOOLEAN_ONLY`` first, and only the expectations that failed, raised, or may pass
        with some rows unexpected (``mostly`` below 1) run again with ``COMPLETE``, on the same
        loaded batch, whose metrics GX reuses.
        """
        # The validator behind Batch.validate and ValidationDefinition.run, used directly: the
        # former loads (and hashes) the dataframe twice, the latter keeps every result, row
        # values included, in the context's in-memory store for the life of the process.
        import_great_expectations()  # scipy and altair deferred (quality/gx_import.py)
        from great_expectations.validator.v1_validator import Validator

        validator = Validator(
            batch_definition=self.batch_definition,
            batch_parameters={"dataframe": frame},
            result_format="BOOLEAN_ONLY",
        )
        results = {_spec_index(r): r for r in validator.validate_expectation_suite(self.suite).results}
        validator.result_format = "COMPLETE"
        for expectation in self.suite.expectations:
            index = int(expectation.meta[SPEC_INDEX_META])
            if not results[index].success or specs[index].kwargs.get("mostly", 1) < 1:
                results[index] = validator.validate_expectation(expectation)
        return [results[index] for index in sorted(results)]


def _spec_index(result: Any) -> int:
    """The position in the spec list of the expectation behind a GX result (see build_suite)."""
    return int(result.expectation_config.meta[SPEC_INDEX_META])


_PREPARED: OrderedDict[str, _PreparedSuite] = OrderedDict()
_PREPARED_LOCK = threading.Lock()


def validate_table(
    schema: EntitySchema, table: pa.Table, specs: list[ExpectationSpec] | None = None
) -> ValidationOutcome:
    """Validate ``table`` against the expectations of its entity and split good rows from bad.

    A failed critical expectation that reports failing rows sends those rows to ``bad``; one that
    cannot (or that raised an error) becomes a table failure. Failed warnings are only reported.
    An expectation with ``mostly`` below 1 that still succeeds quarantines nothing.

    Args:
        schema: the entity schema the table follows.
        table: the rows to check; usually typed with ``schema.arrow_schema()``.
        specs: the expectations; ``None`` means the schema's generated ones plus the entity's
            hand-written extras.

    Returns:
        The split table, the failures and a JSON-safe summary.
    """
    # GX logs every metric it computes at INFO; in task logs that buries everything else.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    if specs is None:
        specs = expectation_specs(schema, load_extra_expectations(schema.entity))
    prepared = _prepared_suite(schema, specs)
    frame = _frame_for_gx(table, specs)
    with prepared.lock:
        try:
            results = prepared.validate(frame, specs)
        finally:
            # The cached context would otherwise keep the last dataframe alive until the next call.
            manager = prepared.batch_definition.data_asset.datasource.get_execution_engine().batch_manager
            manager.reset_batch_cache()
            manager.batch_data_cache.clear()
        del frame

    missing_columns = {
        column
        for r in results
        if r.expectation_config.type == "expect_column_to_exist" and not r.success
        for column in specs[_spec_index(r)].columns
    }
    row_reasons: defaultdict[int, list[str]] = defaultdict(list)
    table_failures: list[str] = []
    warnings: list[str] = []
    summaries: list[dict[str, Any]] = []
    for r in results:
        spec = specs[_spec_index(r)]
        pii = expectation_pii(schema, spec)
        details: dict[str, Any] = r.result or {}
        error = _error_message(r.exception_info)
        if error is not None and pii is not PiiClass.NONE:
            # Pandas' and GX's messages quote the value they choked on.
            error = f"message withheld, it may quote a value of a {pii.value} column {mask(pii)}"
        positions = [int(i) for i in details.get("unexpected_index_list") or []]
        summary = {
            "type": spec.type,
            "kwargs": _json_safe(spec.kwargs),
            "severity": spec.severity,
            "success": bool(r.success),
            "unexpected_count": details.get("unexpected_count"),
            "error": error is not None,
        }
        shown = report_details(details, pii)
        if shown:
            summary["details"] = _json_safe(shown)
        summaries.append(summary)
        failures = warnings if spec.severity == "warning" else table_failures
        if error is not None:
            # A missing column makes every expectation on it raise; its own failure says enough.
            if not missing_columns.intersection(_referenced_columns(spec)):
                failures.append(f"{spec.label}: error: {error}")
        elif r.success:
            continue
        elif spec.severity == "critical" and positions:
            for position, reason in zip(positions, _row_reasons(spec, table, positions, pii), strict=True):
                row_reasons[position].append(reason)
        else:
            failures.append(f"{spec.label}: {_failure_summary(spec, details, pii)}")

    good, bad = _split(table, row_reasons)
    successful = sum(1 for r in results if r.success)
    outcome_success = not table_failures and bad.num_rows == 0
    result = {
        "suite": suite_name(schema),
        "success": outcome_success,
        "rows": table.num_rows,
        "good_rows": good.num_rows,
        "bad_rows": bad.num_rows,
        "statistics": {
            "evaluated": len(results),
            "successful": successful,
            "unsuccessful": len(results) - successful,
        },
        "expectations": summaries,
    }
    return ValidationOutcome(good=good, bad=bad, table_failures=table_failures, warnings=warnings, result=result)


def _skip_batch_fingerprint() -> None:
    """Stop GX from hashing every value of each dataframe it is given.

    GX's pandas engine labels an in-memory batch with a hash of all its values (``batch_markers``
    ``pandas_data_fingerprint``) when the frame is under ``HASH_THRESHOLD`` bytes. Nothing reads that
    label here, and computing it was half of a validation's time (``make bench``, bench/README.md).
    """
    import_great_expectations()  # scipy and altair deferred (quality/gx_import.py)
    from great_expectations.execution_engine import pandas_execution_engine

    if hasattr(pandas_execution_engine, "HASH_THRESHOLD"):
        pandas_execution_engine.HASH_THRESHOLD = 0


def _prepared_suite(schema: EntitySchema, specs: list[ExpectationSpec]) -> _PreparedSuite:
    """The cached GX objects for this entity version and spec list (building a context is slow)."""
    gx = import_great_expectations()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _skip_batch_fingerprint()

    payload = json.dumps(
        [schema.entity, schema.version, [s.model_dump() for s in specs]],
        sort_keys=True,
        default=str,
    )
    key = hashlib.sha256(payload.encode()).hexdigest()
    with _PREPARED_LOCK:
        prepared = _PREPARED.get(key)
        if prepared is not None:
            _PREPARED.move_to_end(key)
            return prepared
        context = gx.get_context(mode="ephemeral")
        # tqdm bars on stderr per validation are noise in task logs.
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        name = suite_name(schema)
        batch_definition = (
            context.data_sources.add_pandas(name="lumina")
            .add_dataframe_asset(name=name)
            .add_batch_definition_whole_dataframe(name=name)
        )
        prepared = _PreparedSuite(context, batch_definition, build_suite(schema, specs), threading.Lock())
        _PREPARED[key] = prepared
        if len(_PREPARED) > _CACHE_SIZE:
            _PREPARED.popitem(last=False)
        return prepared


def _frame_for_gx(table: pa.Table, specs: list[ExpectationSpec]) -> pd.DataFrame:
    """The frame GX validates: the columns whose values an expectation reads, and placeholders for the rest.

    GX's pandas engine copies the whole frame (every column) for each column expectation, to drop the
    column's nulls and again to find the unexpected rows, so a column whose values no expectation reads
    costs time and memory for nothing (40% of a validation for the customer entity, see bench/README.md).
    Such a column keeps its name and position, as int8 zeros: ``expect_column_to_exist`` and checks of
    the column set still see it, and row positions are unchanged.
    """
    import numpy as np

    read = {c for spec in specs if spec.type != "expect_column_to_exist" for c in _referenced_columns(spec)}
    frame = _to_pandas(table.select([name for name in table.column_names if name in read]))
    placeholder = np.zeros(table.num_rows, dtype=np.int8)
    for position, name in enumerate(table.column_names):
        if name not in read:
            frame.insert(position, name, placeholder)
    return frame


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Convert for GX, keeping nulls as nulls and row labels equal to row positions."""
    import pandas as pd

    # Default conversion turns integer columns with nulls into floats (losing precision above
    # 2**53) and boolean columns with nulls into objects; the nullable dtypes keep both exact.
    nullable: dict[pa.DataType, Any] = {
        pa.int8(): pd.Int8Dtype(),
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.uint8(): pd.UInt8Dtype(),
        pa.uint16(): pd.UInt16Dtype(),
        pa.uint32(): pd.UInt32Dtype(),
        pa.uint64(): pd.UInt64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    # ignore_metadata: a table written from pandas may carry an index to restore; GX's row indices
    # must be positions in the Arrow table.
    frame = table.to_pandas(types_mapper=nullable.get, ignore_metadata=True)
    frame.index = pd.RangeIndex(len(frame))
    return frame


def _error_message(exception_info: Any) -> str | None:
    """The message of an expectation that raised, from either shape of GX's ``exception_info``."""
    if not isinstance(exception_info, dict):
        return None
    infos = [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    messages = [
        str(info.get("exception_message") or "unknown error")
        for info in infos
        if isinstance(info, dict) and info.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages)) or None


def _referenced_columns(spec: ExpectationSpec) -> set[str]:
    """The columns ``spec`` checks plus those its row condition (a GX condition dict) reads."""
    names = set(spec.columns)
    pending = [spec.kwargs.get("row_condition")]
    while pending:
        condition = pending.pop()
        if isinstance(condition, dict):
            column = condition.get("column")
            if isinstance(column, dict) and isinstance(column.get("name"), str):
                names.add(column["name"])
            pending.extend(condition.get("conditions") or [])
    return names


def _failure_summary(spec: ExpectationSpec, details: dict[str, Any], pii: PiiClass) -> str:
    """Why an expectation failed, without row values (these strings end up in logs)."""
    if spec.type == "expect_column_to_exist":
        return "column is missing"
    if details.get("unexpected_count") is not None:
        return f"{details['unexpected_count']} of {details.get('element_count')} rows unexpected"
    observed = details.get("observed_value")
    # Only numbers of non-personal columns are safe to show: a column max or mode of a text column
    # could be a person's name, and a personal column's number is that person's.
    if pii is PiiClass.NONE and isinstance(observed, int | float) and not isinstance(observed, bool):
        return f"failed (observed value {observed})"
    return "failed"


def _row_reasons(spec: ExpectationSpec, table: pa.Table, positions: list[int], pii: PiiClass) -> list[str]:
    """One reason per failing row, naming the expectation and, where it helps, the bad value (masked
    when the column is personal: reasons land in the quarantine table)."""
    column = spec.kwargs.get("column")
    if spec.type == "expect_column_values_to_not_be_null" or not isinstance(column, str):
        return [spec.label] * len(positions)
    values = table.column(column).take(pa.array(positions, pa.int64())).to_pylist()
    return [f"{spec.label}: {_describe(spec, value, pii)}" for value in values]


def _describe(spec: ExpectationSpec, value: Any, pii: PiiClass) -> str:
    shown = shown_value(value, pii)
    if spec.type == "expect_column_values_to_be_in_set":
        return f"value {shown} not in allowed set"
    if spec.type == "expect_column_values_to_match_regex":
        return f"value {shown} does not match regex {clip(str(spec.kwargs.get('regex')))}"
    if spec.type == "expect_column_value_lengths_to_be_between" and isinstance(value, str):
        # A length says nothing about whose value it is.
        return f"length {len(value)} not {_bounds(spec.kwargs)}"
    if spec.type == "expect_column_values_to_be_between":
        return f"value {shown} not {_bounds(spec.kwargs)}"
    return f"unexpected value {shown}"


def _bounds(kwargs: dict[str, Any]) -> str:
    """``>= 0 and <= 10`` from GX's min_value/max_value/strict_min/strict_max kwargs."""
    parts = []
    if kwargs.get("min_value") is not None:
        parts.append(f"{'>' if kwargs.get('strict_min') else '>='} {kwargs['min_value']}")
    if kwargs.get("max_value") is not None:
        parts.append(f"{'<' if kwargs.get('strict_max') else '<='} {kwargs['max_value']}")
    return " and ".join(parts) or "within bounds"


def _split(table: pa.Table, row_reasons: dict[int, list[str]]) -> tuple[pa.Table, pa.Table]:
    """Split by row position with Arrow itself, so both parts keep the input's exact types."""
    import numpy as np

    bad_positions = sorted(row_reasons)
    is_good = np.ones(table.num_rows, dtype=bool)
    is_good[bad_positions] = False
    good = table.filter(pa.array(is_good))
    bad = table.take(pa.array(bad_positions, pa.int64()))
    reasons = pa.array(["; ".join(row_reasons[p]) for p in bad_positions], pa.string())
    return good, bad.append_column(pa.field(REASON_COLUMN, pa.string(), nullable=False), reasons)


def _json_safe(value: Any) -> Any:
    result: Any = json.loads(json.dumps(value, default=str))
    return result
