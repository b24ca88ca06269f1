"""What validation reports and reasons may quote: values of non-personal columns only, whatever the class."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

from lumina_integration.canonical.schema import EntitySchema, PiiClass
from lumina_integration.quality.masking import expectation_pii, report_details
from lumina_integration.quality.runner import REASON_COLUMN, validate_table
from lumina_integration.quality.suite import ExpectationSpec

SCHEMA = EntitySchema.model_validate(
    {
        "entity": "patient",
        "version": 1,
        "primary_key": ["id"],
        "cursor": "updated_at",
        "columns": [
            {"name": "id", "type": "string", "nullable": False},
            {"name": "updated_at", "type": "timestamp", "nullable": False},
            {"name": "city", "type": "string", "pii": "indirect"},
            {"name": "email", "type": "string", "pii": "direct"},
            {"name": "diagnosis", "type": "string", "pii": "sensitive"},
            {"name": "score", "type": "integer", "pii": "sensitive"},
            {"name": "kind", "type": "string"},
        ],
    }
)
SECRETS = {"city": "Smalltown-8812", "email": "x.y@@z", "diagnosis": "flu-77341", "score": 987654321}


def table(**values: Any) -> pa.Table:
    from datetime import UTC, datetime

    row = {"id": "1", "updated_at": datetime(2026, 1, 1, tzinfo=UTC), "kind": "ok-kind", **values}
    return pa.Table.from_pylist([row, {**row, "id": "2"}], schema=SCHEMA.arrow_schema())


def spec(type_: str, **kwargs: Any) -> ExpectationSpec:
    return ExpectationSpec(type=type_, kwargs=kwargs)


@pytest.mark.parametrize(
    ("column", "pii"),
    [("city", "indirect"), ("email", "direct"), ("diagnosis", "sensitive"), ("kind", "none")],
)
def test_each_class_masks_reasons_and_report_values(column: str, pii: str) -> None:
    value = SECRETS.get(column, "odd-kind-5521")
    specs = [spec("expect_column_values_to_be_in_set", column=column, value_set=["allowed"])]

    outcome = validate_table(SCHEMA, table(**{column: value}), specs)

    reasons = outcome.bad.column(REASON_COLUMN).to_pylist()
    details = outcome.result["expectations"][0]["details"]
    assert details["unexpected_count"] == 2 and details["unexpected_percent"] == 100.0
    if pii == "none":
        assert reasons == [f"expect_column_values_to_be_in_set({column}): value {value!r} not in allowed set"] * 2
        assert details["partial_unexpected_list"] == [value, value]
    else:
        assert reasons == [f"expect_column_values_to_be_in_set({column}): value <masked:{pii}> not in allowed set"] * 2
        assert details["partial_unexpected_list"] == [f"<masked:{pii}>"] * 2
        assert details["partial_unexpected_counts"] == [{"value": f"<masked:{pii}>", "count": 2}]
        assert str(value) not in json.dumps(outcome.result) + "".join(reasons)


def test_a_personal_columns_number_is_not_quoted_as_an_observed_value() -> None:
    specs = [spec("expect_column_max_to_be_between", column="score", max_value=10)]

    outcome = validate_table(SCHEMA, table(score=SECRETS["score"]), specs)

    assert outcome.table_failures == ["expect_column_max_to_be_between(score): failed"]
    assert outcome.result["expectations"][0]["details"]["observed_value"] == "<masked:sensitive>"
    assert str(SECRETS["score"]) not in json.dumps(outcome.result)


def test_an_error_on_a_personal_column_withholds_its_message() -> None:
    # Comparing text with a number raises inside pandas, whose message may quote the value.
    specs = [spec("expect_column_values_to_be_between", column="diagnosis", min_value=3)]

    outcome = validate_table(SCHEMA, table(diagnosis=SECRETS["diagnosis"]), specs)

    [failure] = outcome.table_failures
    assert failure.startswith("expect_column_values_to_be_between(diagnosis): error: message withheld")
    assert SECRETS["diagnosis"] not in failure


def test_the_strictest_class_of_the_columns_read_wins() -> None:
    pair = spec("expect_column_pair_values_to_be_equal", column_A="kind", column_B="diagnosis")
    assert expectation_pii(SCHEMA, pair) is PiiClass.SENSITIVE
    assert expectation_pii(SCHEMA, spec("expect_table_row_count_to_be_between", min_value=1)) is PiiClass.NONE


def test_report_details_keep_counts_and_drop_what_they_do_not_know() -> None:
    details = {
        "element_count": 10,
        "unexpected_count": 1,
        "unexpected_percent": 10.0,
        "partial_unexpected_list": ["a@b"],
        "unexpected_list": ["a@b"],
        "unexpected_index_query": "df.filter(items=[3], axis=0)",
        "details": {"value_counts": [{"value": "a@b", "count": 1}]},
    }
    assert report_details(details, PiiClass.DIRECT) == {
        "element_count": 10,
        "unexpected_count": 1,
        "unexpected_percent": 10.0,
        "partial_unexpected_list": ["<masked:direct>"],
    }
