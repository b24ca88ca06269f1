"""Tests for validating canonical Arrow tables and splitting good rows from bad ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from lumina_integration.canonical.registry import load_entity
from lumina_integration.canonical.schema import DELETED_COLUMN, EntitySchema
from lumina_integration.quality.runner import REASON_COLUMN, validate_table
from lumina_integration.quality.suite import ExpectationSpec, expectation_specs

CUSTOMER = load_entity("customer")


def _row(source_id: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source_system": "salesforce",
        "source_id": source_id,
        "name": f"Customer {source_id}",
        "email": f"c{source_id}@example.com",
        "phone": "+49 30 123456",
        "country_code": "DE",
        "industry": "retail",
        "status": "active",
        "annual_revenue": Decimal("1250000.50"),
        "employee_count": 42,
        "created_at": datetime(2023, 5, 1, 8, 30, tzinfo=UTC),
        "source_updated_at": datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        DELETED_COLUMN: False,
    }
    row.update(overrides)
    return row


def _table(rows: list[dict[str, Any]], schema: EntitySchema = CUSTOMER) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema.arrow_schema())


def _ids(table: pa.Table) -> list[str]:
    ids: list[str] = table.column("source_id").to_pylist()
    return ids


def _reasons(table: pa.Table) -> list[str]:
    reasons: list[str] = table.column(REASON_COLUMN).to_pylist()
    return reasons


def test_clean_table_is_all_good() -> None:
    table = _table([_row("1"), _row("2", employee_count=None, annual_revenue=None, email=None), _row("3")])

    outcome = validate_table(CUSTOMER, table)

    assert outcome.success
    assert outcome.good.equals(table, check_metadata=True)
    assert outcome.bad.num_rows == 0
    assert outcome.bad.schema.names == [*table.schema.names, REASON_COLUMN]
    assert (outcome.table_failures, outcome.warnings) == ([], [])
    assert outcome.result["success"] is True
    assert outcome.result["statistics"] == {"evaluated": 33, "successful": 33, "unsuccessful": 0}


def test_the_dataframe_is_not_fingerprinted(monkeypatch: pytest.MonkeyPatch) -> None:
    """GX hashes every value of a batch only to label it; that was half of a validation's time."""
    from great_expectations.execution_engine import pandas_execution_engine

    def refuse(frame: Any) -> str:
        raise AssertionError("the batch fingerprint was computed")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", refuse)
    outcome = validate_table(CUSTOMER, _table([_row("1"), _row("2", status="gone")]))

    assert _ids(outcome.good) == ["1"] and _ids(outcome.bad) == ["2"]


def test_gx_gets_placeholders_for_columns_whose_values_nothing_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """GX copies every column for each column expectation: unread columns go in as int8 zeros."""
    from lumina_integration.quality import runner

    frames: list[Any] = []
    validate = runner._PreparedSuite.validate

    def capture(self: Any, frame: Any, specs: Any) -> Any:
        frames.append(frame)
        return validate(self, frame, specs)

    monkeypatch.setattr(runner._PreparedSuite, "validate", capture)
    table = _table([_row("1", industry="retail"), _row("2", country_code="usa")])
    outcome = validate_table(CUSTOMER, table)

    (frame,) = frames
    assert list(frame.columns) == table.column_names
    assert str(frame["industry"].dtype) == "int8" and str(frame["annual_revenue"].dtype) == "int8"
    assert frame["country_code"].tolist() == ["DE", "usa"] and frame[DELETED_COLUMN].tolist() == [False, False]
    assert _ids(outcome.good) == ["1"] and _ids(outcome.bad) == ["2"]
    assert outcome.good.column("industry").to_pylist() == ["retail"]


def test_bad_rows_are_split_off_in_order_with_types_preserved() -> None:
    table = _table(
        [
            _row("1"),
            _row("2", status="archived"),
            _row("3"),
            _row("4", name=None),
            _row("5", email="not-an-email"),
            _row("6"),
        ]
    )

    outcome = validate_table(CUSTOMER, table)

    assert not outcome.success
    assert outcome.table_failures == []
    assert _ids(outcome.good) == ["1", "3", "6"]
    assert _ids(outcome.bad) == ["2", "4", "5"]
    assert _reasons(outcome.bad) == [
        "expect_column_values_to_be_in_set(status): value 'archived' not in allowed set",
        "expect_column_values_to_not_be_null(name)",
        r"expect_column_values_to_match_regex(email): value <masked:direct> does not match regex "
        r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    ]
    assert outcome.good.schema.equals(table.schema, check_metadata=True)
    assert outcome.good.equals(table.take([0, 2, 5]))
    assert outcome.bad.schema.equals(
        table.schema.append(pa.field(REASON_COLUMN, pa.string(), nullable=False)), check_metadata=True
    )
    assert outcome.bad.drop_columns([REASON_COLUMN]).equals(table.take([1, 3, 4]))


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        pytest.param({"source_id": None}, "expect_column_values_to_not_be_null(source_id)", id="null-key"),
        pytest.param(
            {"source_updated_at": None},
            "expect_column_values_to_not_be_null(source_updated_at)",
            id="null-cursor",
        ),
        pytest.param({"status": None}, "expect_column_values_to_not_be_null(status)", id="null-status"),
        pytest.param(
            {"name": "x" * 256},
            "expect_column_value_lengths_to_be_between(name): length 256 not <= 255",
            id="name-too-long",
        ),
        pytest.param(
            {"country_code": "de"},
            "expect_column_values_to_match_regex(country_code): value 'de' does not match regex ^[A-Z]{2}$",
            id="lowercase-country",
        ),
        pytest.param(
            {"country_code": "DEU"},
            "expect_column_value_lengths_to_be_between(country_code): length 3 not <= 2; "
            "expect_column_values_to_match_regex(country_code): value 'DEU' does not match regex ^[A-Z]{2}$",
            id="country-too-long-and-not-matching",
        ),
        pytest.param(
            {"employee_count": -1},
            "expect_column_values_to_be_between(employee_count): value -1 not >= 0",
            id="negative-nullable-int",
        ),
        pytest.param(
            {DELETED_COLUMN: None},
            "expect_column_values_to_not_be_null(_is_deleted)",
            id="null-delete-flag",
        ),
    ],
)
def test_single_failures_name_their_expectation(overrides: dict[str, Any], reason: str) -> None:
    table = _table([_row("1"), _row("2") | overrides])

    outcome = validate_table(CUSTOMER, table)

    assert _reasons(outcome.bad) == [reason]
    assert _ids(outcome.good) == ["1"]
    assert outcome.table_failures == []


def test_row_failing_two_expectations_is_one_bad_row_naming_both() -> None:
    table = _table([_row("1", status="gone", email="nope"), _row("2")])

    outcome = validate_table(CUSTOMER, table)

    assert _ids(outcome.bad) == ["1"]
    [reason] = _reasons(outcome.bad)
    parts = reason.split("; ")
    assert len(parts) == 2
    assert parts[0].startswith("expect_column_values_to_be_in_set(status): value 'gone'")
    assert parts[1].startswith("expect_column_values_to_match_regex(email): value <masked:direct>")
    assert _ids(outcome.good) == ["2"]


def test_tombstones_only_need_key_and_cursor() -> None:
    tombstone = {c: None for c in CUSTOMER.column_names if c not in ("source_system", "source_id")}
    tombstone |= {"source_updated_at": datetime(2024, 2, 1, tzinfo=UTC), DELETED_COLUMN: True}
    table = _table(
        [
            _row("1"),
            {"source_system": "salesforce", "source_id": "2", **tombstone},
            {"source_system": "salesforce", "source_id": None, **tombstone},
        ]
    )

    outcome = validate_table(CUSTOMER, table)

    assert _ids(outcome.good) == ["1", "2"]
    assert _reasons(outcome.bad) == ["expect_column_values_to_not_be_null(source_id)"]


def test_decimal_bounds_are_compared_exactly() -> None:
    specs = [
        ExpectationSpec(
            type="expect_column_values_to_be_between",
            kwargs={"column": "annual_revenue", "min_value": 0, "max_value": 1000},
        )
    ]
    table = _table(
        [
            _row("1", annual_revenue=Decimal("0.00")),
            _row("2", annual_revenue=Decimal("-0.01")),
            _row("3", annual_revenue=None),
            _row("4", annual_revenue=Decimal("1000.01")),
            _row("5", annual_revenue=Decimal("1000.00")),
        ]
    )

    outcome = validate_table(CUSTOMER, table, specs)

    assert _ids(outcome.good) == ["1", "3", "5"]
    assert _reasons(outcome.bad) == [
        "expect_column_values_to_be_between(annual_revenue): value -0.01 not >= 0 and <= 1000",
        "expect_column_values_to_be_between(annual_revenue): value 1000.01 not >= 0 and <= 1000",
    ]
    assert outcome.good.schema.field("annual_revenue").type == pa.decimal128(18, 2)


@pytest.mark.parametrize(
    ("min_value", "bad_ids"),
    [
        pytest.param("2023-05-01T08:30:00+00:00", [], id="equal-instant-passes"),
        pytest.param("2023-05-01T08:30:00.000001Z", ["1"], id="one-microsecond-later-fails"),
    ],
)
def test_utc_timestamp_bounds(min_value: str, bad_ids: list[str]) -> None:
    specs = [
        ExpectationSpec(
            type="expect_column_values_to_be_between", kwargs={"column": "created_at", "min_value": min_value}
        )
    ]
    table = _table([_row("1"), _row("2", created_at=None)])

    outcome = validate_table(CUSTOMER, table, specs)

    assert _ids(outcome.bad) == bad_ids
    assert outcome.table_failures == []


def test_missing_column_is_a_table_failure() -> None:
    table = _table([_row("1"), _row("2", email="broken")]).drop_columns(["email"])

    outcome = validate_table(CUSTOMER, table)

    assert not outcome.success
    assert outcome.table_failures == ["expect_column_to_exist(email): column is missing"]
    assert _ids(outcome.good) == ["1", "2"]
    assert outcome.good.schema.equals(table.schema)
    entries = [e for e in outcome.result["expectations"] if e["kwargs"].get("column") == "email"]
    assert [(e["type"], e["success"], e["error"]) for e in entries] == [
        ("expect_column_to_exist", False, False),
        ("expect_column_value_lengths_to_be_between", False, True),
        ("expect_column_values_to_match_regex", False, True),
    ]


def test_missing_delete_flag_is_reported_once() -> None:
    table = _table([_row("1"), _row("2", name=None)]).drop_columns([DELETED_COLUMN])

    outcome = validate_table(CUSTOMER, table)

    assert outcome.table_failures == [f"expect_column_to_exist({DELETED_COLUMN}): column is missing"]
    assert _ids(outcome.good) == ["1", "2"]


@pytest.mark.parametrize(
    ("severity", "table_failures", "warnings"),
    [
        pytest.param(
            "critical",
            ["expect_table_row_count_to_be_between: failed (observed value 2)"],
            [],
            id="critical",
        ),
        pytest.param("warning", [], ["expect_table_row_count_to_be_between: failed (observed value 2)"], id="warning"),
    ],
)
def test_table_level_expectation_by_severity(severity: str, table_failures: list[str], warnings: list[str]) -> None:
    specs = [ExpectationSpec(type="expect_table_row_count_to_be_between", kwargs={"min_value": 3}, severity=severity)]
    table = _table([_row("1"), _row("2")])

    outcome = validate_table(CUSTOMER, table, specs)

    assert (outcome.table_failures, outcome.warnings) == (table_failures, warnings)
    assert outcome.good.num_rows == 2
    assert outcome.success is (severity == "warning")


def test_failing_warning_keeps_rows_good() -> None:
    regex = ExpectationSpec(
        type="expect_column_values_to_match_regex",
        kwargs={"column": "email", "regex": r"@example\.org$"},
        severity="warning",
    )
    specs = expectation_specs(CUSTOMER, [regex])
    table = _table([_row("1"), _row("2"), _row("3", email="c3@example.org")])

    outcome = validate_table(CUSTOMER, table, specs)

    assert outcome.success
    assert outcome.good.equals(table)
    assert outcome.bad.num_rows == 0
    assert outcome.warnings == [r"expect_column_values_to_match_regex(email): 2 of 3 rows unexpected"]
    assert outcome.result["expectations"][-1] | {"kwargs": None} == {
        "type": "expect_column_values_to_match_regex",
        "kwargs": None,
        "severity": "warning",
        "success": False,
        "unexpected_count": 2,
        "error": False,
        "details": {
            "element_count": 3,
            "missing_count": 0,
            "missing_percent": 0.0,
            "unexpected_count": 2,
            "unexpected_percent": pytest.approx(200 / 3),
            "unexpected_percent_total": pytest.approx(200 / 3),
            "unexpected_percent_nonmissing": pytest.approx(200 / 3),
            "partial_unexpected_list": ["<masked:direct>", "<masked:direct>"],
            "partial_unexpected_counts": [{"value": "<masked:direct>", "count": 1}] * 2,
        },
    }


def test_only_failed_or_mostly_expectations_are_run_again_for_their_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite runs BOOLEAN_ONLY; COMPLETE (rows, counts) only where a result needs them."""
    from great_expectations.validator.v1_validator import Validator

    rerun: list[str] = []
    validate_expectation = Validator.validate_expectation

    def spy(self: Any, expectation: Any, *args: Any) -> Any:
        rerun.append(f"{expectation.expectation_type}:{self.result_format}")
        return validate_expectation(self, expectation, *args)

    monkeypatch.setattr(Validator, "validate_expectation", spy)
    mostly = ExpectationSpec(
        type="expect_column_values_to_match_regex",
        kwargs={"column": "email", "regex": r"@example\.org$", "mostly": 0.1},
    )
    specs = expectation_specs(CUSTOMER, [mostly])
    table = _table([_row("1"), _row("2", status="archived"), _row("3", email="c3@example.org")])

    outcome = validate_table(CUSTOMER, table, specs)

    assert sorted(rerun) == [
        "expect_column_values_to_be_in_set:COMPLETE",
        "expect_column_values_to_match_regex:COMPLETE",
    ]
    assert _ids(outcome.bad) == ["2"] and _ids(outcome.good) == ["1", "3"]
    by_type = {(e["type"], e["kwargs"].get("column")): e for e in outcome.result["expectations"]}
    assert by_type[("expect_column_values_to_match_regex", "email")]["success"] is True
    assert by_type[("expect_column_values_to_match_regex", "email")]["unexpected_count"] == 2
    assert by_type[("expect_column_values_to_be_in_set", "status")]["unexpected_count"] == 1
    # A passing expectation without ``mostly`` is not counted: its rows were never listed.
    assert by_type[("expect_column_values_to_not_be_null", "source_id")]["unexpected_count"] is None


def test_same_entity_with_other_specs_is_not_served_from_a_stale_cache() -> None:
    table = _table([_row("1", email="nope")])
    regex = {"column": "email", "regex": "@"}

    as_warning = validate_table(
        CUSTOMER,
        table,
        [ExpectationSpec(type="expect_column_values_to_match_regex", kwargs=regex, severity="warning")],
    )
    as_critical = validate_table(
        CUSTOMER, table, [ExpectationSpec(type="expect_column_values_to_match_regex", kwargs=regex)]
    )

    assert (as_warning.good.num_rows, len(as_warning.warnings)) == (1, 1)
    assert (as_critical.bad.num_rows, as_critical.warnings) == (1, [])


def test_erroring_expectation_is_a_table_failure_with_its_message() -> None:
    # GX parses a bare date as a date, which pandas refuses to compare with UTC timestamps.
    specs = [
        ExpectationSpec(
            type="expect_column_values_to_be_between",
            kwargs={"column": "created_at", "min_value": "2023-01-01"},
        )
    ]

    outcome = validate_table(CUSTOMER, _table([_row("1")]), specs)

    [failure] = outcome.table_failures
    assert failure.startswith("expect_column_values_to_be_between(created_at): error: ")
    assert "comparison" in failure
    assert outcome.result["expectations"][0]["error"] is True
    assert _ids(outcome.good) == ["1"]


def test_result_is_json_safe_and_holds_values_of_non_personal_columns_only() -> None:
    odd_status = "zz-odd-status-7731"
    secret_email = "jane.doe.secret@@example"
    table = _table([_row("1", status=odd_status), _row("2", email=secret_email), _row("3")])

    outcome = validate_table(CUSTOMER, table)

    dumped = json.dumps(outcome.result)
    assert secret_email not in dumped
    assert "jane.doe" not in dumped
    assert secret_email not in "".join(_reasons(outcome.bad))
    assert odd_status in _reasons(outcome.bad)[0], "status is not personal: its value helps whoever fixes the row"
    regex = next(e for e in outcome.result["expectations"] if e["type"] == "expect_column_values_to_match_regex")
    assert regex["details"]["partial_unexpected_list"] == ["<masked:direct>"]
    assert regex["details"]["unexpected_count"] == 1 and regex["details"]["element_count"] == 3
    assert outcome.result["suite"] == "customer_v1"
    assert (outcome.result["rows"], outcome.result["good_rows"], outcome.result["bad_rows"]) == (3, 1, 2)
    assert outcome.result["statistics"] == {"evaluated": 33, "successful": 31, "unsuccessful": 2}
    assert len(outcome.result["expectations"]) == 33
    in_set = next(e for e in outcome.result["expectations"] if e["type"] == "expect_column_values_to_be_in_set")
    assert in_set == {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "status", "value_set": ["prospect", "active", "inactive"]},
        "severity": "critical",
        "success": False,
        "unexpected_count": 1,
        "error": False,
        "details": {
            "element_count": 3,
            "missing_count": 0,
            "missing_percent": 0.0,
            "unexpected_count": 1,
            "unexpected_percent": pytest.approx(100 / 3),
            "unexpected_percent_total": pytest.approx(100 / 3),
            "unexpected_percent_nonmissing": pytest.approx(100 / 3),
            "partial_unexpected_list": [odd_status],
            "partial_unexpected_counts": [{"value": odd_status, "count": 1}],
        },
    }


def test_empty_table_succeeds() -> None:
    table = _table([])

    outcome = validate_table(CUSTOMER, table)

    assert outcome.success
    assert outcome.good.num_rows == outcome.bad.num_rows == 0
    assert outcome.good.schema.equals(table.schema)
    assert outcome.bad.schema.names[-1] == REASON_COLUMN


@pytest.mark.parametrize(
    "make_table",
    [
        pytest.param(lambda t: t.slice(2), id="sliced-table"),
        pytest.param(
            lambda t: pa.Table.from_pandas(t.to_pandas().set_axis([10, 11, 12, 13, 14]), preserve_index=True),
            id="table-carrying-a-pandas-index",
        ),
    ],
)
def test_row_positions_are_positions_in_the_arrow_table(make_table: Any) -> None:
    full = _table([_row("0"), _row("1"), _row("2"), _row("3", status="bogus"), _row("4")])
    table = make_table(full)

    outcome = validate_table(CUSTOMER, table)

    assert _ids(outcome.bad) == ["3"]
    assert _ids(outcome.good) == [i for i in _ids(table) if i != "3"]


def test_product_defaults_check_decimal_and_nullable_boolean() -> None:
    product = load_entity("product")
    base = {
        "source_system": "sap_erp",
        "name": "Widget",
        "unit_price": Decimal("9.9900"),
        "currency": "EUR",
        "is_active": True,
        "source_updated_at": datetime(2024, 1, 1, tzinfo=UTC),
        DELETED_COLUMN: False,
    }
    table = _table(
        [
            base | {"source_id": "a"},
            base | {"source_id": "b", "unit_price": Decimal("-0.0001")},
            base | {"source_id": "c", "is_active": None},
            base | {"source_id": "d", "is_active": False, "unit_price": None},
        ],
        product,
    )

    outcome = validate_table(product, table)

    assert _ids(outcome.good) == ["a", "d"]
    assert _reasons(outcome.bad) == [
        "expect_column_values_to_be_between(unit_price): value -0.0001 not >= 0",
        "expect_column_values_to_not_be_null(is_active)",
    ]
    assert outcome.good.schema.equals(table.schema, check_metadata=True)
