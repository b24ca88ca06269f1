"""Value checks of protected columns, run on the clear value in the transform step (Arrow).

A token, a ciphertext or a mask can no longer satisfy ``allowed_values``, ``max_length`` or an e-mail regex, so
those expectations of a column whose action is not ``keep`` leave the Great Expectations suite
(:func:`suite_specs`) and run here, before the policy replaces the value (:func:`clear_checks`). Not-null and
column-exists checks stay in the suite: protection keeps nulls null. Any other expectation type on a protected
column also stays in the suite and judges the protected value (uniqueness still works on tokens, for one).

Rejection reasons name the expectation and what failed, never the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lumina_integration.canonical.schema import EntitySchema
from lumina_integration.protection.policy import EntityPolicy
from lumina_integration.quality.suite import ExpectationSpec

if TYPE_CHECKING:
    import pyarrow as pa

CLEAR_CHECK_TYPES = (
    "expect_column_values_to_be_in_set",
    "expect_column_value_lengths_to_be_between",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
)


def is_clear_check(spec: ExpectationSpec, protected: set[str]) -> bool:
    return spec.type in CLEAR_CHECK_TYPES and len(spec.columns) == 1 and spec.columns[0] in protected


def all_specs(schema: EntitySchema, *, checked: bool = True) -> list[ExpectationSpec]:
    """The entity's expectations; ``checked=False`` reads the hand-written ones without asking Great Expectations
    whether they exist (the transform step: importing GX costs seconds and 150 MB; lint and validate check)."""
    from lumina_integration.quality.suite import ExpectationsFile, expectation_specs, load_extra_expectations

    if checked:
        return expectation_specs(schema, load_extra_expectations(schema.entity))
    from lumina_integration.paths import EXPECTATIONS_DIR
    from lumina_integration.yaml_models import compose_yaml, validate_yaml_data

    path = EXPECTATIONS_DIR / f"{schema.entity}.yaml"
    extras: list[ExpectationSpec] = []
    if path.is_file():
        data, node = compose_yaml(path.read_text(encoding="utf-8"), path)
        extras = validate_yaml_data(ExpectationsFile, data, node, path).expectations
    return expectation_specs(schema, extras)


def suite_specs(schema: EntitySchema, policy: EntityPolicy) -> list[ExpectationSpec]:
    """The expectations the validate step runs: all of them but the clear-value checks of protected columns."""
    protected = set(policy.protected)
    return [s for s in all_specs(schema) if not is_clear_check(s, protected)]


def clear_checks(schema: EntitySchema, policy: EntityPolicy) -> list[ExpectationSpec]:
    """The expectations the transform step runs on clear values before protecting them."""
    protected = set(policy.protected)
    return [s for s in all_specs(schema, checked=False) if is_clear_check(s, protected)]


@dataclass(frozen=True)
class CheckOutcome:
    failed: pa.Array  # bool per row: a critical check failed
    reasons: list[str | None]  # per row; None where nothing failed
    warnings: list[str]  # failed warning-severity checks, with counts


def _failures(spec: ExpectationSpec, values: pa.Array) -> tuple[pa.Array, str]:
    """(bool per row: fails, why, without the value); nulls never fail (as in Great Expectations)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kwargs = spec.kwargs
    if spec.type == "expect_column_values_to_be_in_set":
        fails = pc.invert(pc.is_in(values, value_set=pa.array(kwargs["value_set"], pa.string())))
        why = "the clear value is not one of the allowed values"
    elif spec.type == "expect_column_value_lengths_to_be_between":
        lengths = pc.utf8_length(values)
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        fails = pa.repeat(False, len(values))
        if low is not None:
            fails = pc.or_(fails, pc.less(lengths, low))
        if high is not None:
            fails = pc.or_(fails, pc.greater(lengths, high))
        why = f"the clear value's length is not between {low} and {high}"
    else:
        matches = pc.match_substring_regex(values, kwargs["regex"])
        negate = spec.type == "expect_column_values_to_match_regex"
        fails = pc.invert(matches) if negate else matches
        why = f"the clear value {'does not match' if negate else 'matches'} regex {kwargs['regex']!r}"
    return pc.fill_null(fails, False), why


def run_clear_checks(table: pa.Table, specs: list[ExpectationSpec]) -> CheckOutcome:
    """Evaluate ``specs`` (see :func:`clear_checks`) over ``table``'s clear values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    failed = pa.repeat(False, n)
    reasons: list[list[str]] = [[] for _ in range(n)]
    warnings = []
    for spec in specs:
        column = spec.columns[0]
        if column not in table.column_names:
            continue  # a refresh of other columns
        values = table.column(column).combine_chunks()
        fails, why = _failures(spec, values)
        count = pc.sum(fails).as_py() or 0
        if not count:
            continue
        mostly = spec.kwargs.get("mostly")
        non_null = len(values) - values.null_count
        if mostly is not None and non_null and (non_null - count) / non_null >= mostly:
            continue  # succeeds with ``mostly``: quarantines nothing, like the suite
        if spec.severity == "warning":
            warnings.append(f"{spec.label}: {count} of {n} rows unexpected ({why})")
            continue
        failed = pc.or_(failed, fails)
        for i in pc.indices_nonzero(fails).to_pylist():
            reasons[i].append(f"{spec.label}: {why}")
    return CheckOutcome(failed, ["; ".join(r) if r else None for r in reasons], warnings)
