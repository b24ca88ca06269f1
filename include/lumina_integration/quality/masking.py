"""What a validation report and a quarantine reason may say about the values an expectation found.

Great Expectations' results list the unexpected values themselves (``partial_unexpected_list``,
``partial_unexpected_counts``, ``unexpected_list``, ``observed_value``...). Reports live in the lake for
the validation zone's retention and reasons in the quarantine table, both read by more people than the
data: so a value of a column whose schema PII class is not ``none`` is never written, whatever the PII
policy does to the column in the warehouse (``keep`` included). Each such value is replaced by
``<masked:CLASS>`` (:mod:`lumina_integration.protection.quoting`), which keeps the lists' lengths,
counts and percentages.
"""

from __future__ import annotations

from typing import Any

from lumina_integration.canonical.schema import EntitySchema, PiiClass
from lumina_integration.protection.quoting import clip, mask
from lumina_integration.quality.suite import ExpectationSpec

# The strictest class wins when an expectation reads several columns.
_ORDER = [PiiClass.NONE, PiiClass.INDIRECT, PiiClass.DIRECT, PiiClass.SENSITIVE]
# Counts and percentages: safe whatever the column.
_COUNT_KEYS = (
    "element_count",
    "missing_count",
    "missing_percent",
    "unexpected_count",
    "unexpected_percent",
    "unexpected_percent_total",
    "unexpected_percent_nonmissing",
)
# GX caps these at 20 values; the unbounded ``unexpected_list`` and the row indexes stay out of reports.
_PARTIAL_LIMIT = 20


def expectation_pii(schema: EntitySchema, spec: ExpectationSpec) -> PiiClass:
    """The strictest PII class of the columns ``spec`` checks (``none`` for columns outside the schema)."""
    classes = {column.name: column.pii for column in schema.columns}
    found = [classes.get(name, PiiClass.NONE) for name in spec.columns]
    return max(found, key=_ORDER.index, default=PiiClass.NONE)


def report_details(details: dict[str, Any], pii: PiiClass) -> dict[str, Any]:
    """The part of a GX result a report keeps: counts and percentages, and the first unexpected values masked.

    A whitelist: keys GX adds in later versions (``unexpected_rows``, ``details``...) stay out until
    someone decides how to mask them.
    """
    kept: dict[str, Any] = {key: details[key] for key in _COUNT_KEYS if details.get(key) is not None}
    partial = details.get("partial_unexpected_list")
    if isinstance(partial, list):
        kept["partial_unexpected_list"] = [_json_value(v, pii) for v in partial[:_PARTIAL_LIMIT]]
    counts = details.get("partial_unexpected_counts")
    if isinstance(counts, list):
        kept["partial_unexpected_counts"] = [
            {"value": _json_value(c.get("value"), pii), "count": c.get("count")}
            for c in counts[:_PARTIAL_LIMIT]
            if isinstance(c, dict)
        ]
    observed = details.get("observed_value")
    if observed is not None:
        # A column's max or mode is one of its values; a row count is not, and table-level
        # expectations read no column (class none).
        kept["observed_value"] = _json_value(observed, pii)
    return kept


def _json_value(value: Any, pii: PiiClass) -> Any:
    if pii is not PiiClass.NONE:
        return mask(pii)
    if value is None or isinstance(value, bool | int | float):
        return value
    return clip(str(value))
