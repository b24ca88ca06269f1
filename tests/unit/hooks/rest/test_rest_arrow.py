"""JSON records to typed Arrow: types from the catalogue, bad values kept with their reason, hostile nesting bounded."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from lumina_integration.hooks.rest.arrow import (
    FieldSpec,
    NestingLimits,
    arrow_schema,
    bounded_json,
    records_to_batch,
    records_to_batches,
)

ERROR, RAW = "_lumina_error", "_lumina_raw"


def one(value: Any, spec: FieldSpec) -> tuple[Any, str | None]:
    batch = records_to_batch([{spec.keys[0]: value}] if spec.path is None else [value], [spec])
    return batch.column(0)[0].as_py(), batch.column(ERROR)[0].as_py()


@pytest.mark.parametrize(
    ("value", "spec", "expected"),
    [
        pytest.param(42, FieldSpec("n", pa.int64()), 42, id="int-from-number"),
        pytest.param("42", FieldSpec("n", pa.int64()), 42, id="int-from-text-servicenow-style"),
        pytest.param(" 7 ", FieldSpec("n", pa.int32()), 7, id="int32-from-padded-text"),
        pytest.param(1, FieldSpec("x", pa.float64()), 1.0, id="float-from-int"),
        pytest.param("2.5", FieldSpec("x", pa.float64()), 2.5, id="float-from-text"),
        pytest.param(True, FieldSpec("b", pa.bool_()), True, id="bool"),
        pytest.param("false", FieldSpec("b", pa.bool_()), False, id="bool-from-text"),
        pytest.param("1", FieldSpec("b", pa.bool_(), true_values=("1",), false_values=("0",)), True, id="bool-1-0"),
        pytest.param("", FieldSpec("n", pa.int64()), None, id="empty-text-is-null-in-a-typed-column"),
        pytest.param("", FieldSpec("s", pa.string()), "", id="empty-text-stays-in-a-string-column"),
        pytest.param(
            "2026-11-20T10:15:30.000+0100",
            FieldSpec("t", pa.timestamp("us", tz="UTC")),
            datetime(2026, 11, 20, 9, 15, 30, tzinfo=UTC),
            id="iso-timestamp-with-offset",
        ),
        pytest.param(
            "2026-11-20 10:15:30",
            FieldSpec("t", pa.timestamp("us", tz="UTC"), fmt="%Y-%m-%d %H:%M:%S"),
            datetime(2026, 11, 20, 10, 15, 30, tzinfo=UTC),
            id="glide-datetime-format",
        ),
        pytest.param("2026-02-28", FieldSpec("d", pa.date32()), date(2026, 2, 28), id="date"),
        pytest.param("12.30", FieldSpec("m", pa.decimal128(12, 2)), Decimal("12.30"), id="decimal-from-text"),
        pytest.param(0.1, FieldSpec("m", pa.decimal128(12, 2)), Decimal("0.10"), id="decimal-from-float-exactly"),
        pytest.param(1e-7, FieldSpec("s", pa.string()), "0.0000001", id="float-into-string-without-exponent"),
        pytest.param(5, FieldSpec("s", pa.string()), "5", id="number-into-string"),
        pytest.param({"b": [1, "ü"]}, FieldSpec("s", pa.string()), '{"b":[1,"ü"]}', id="object-kept-as-json-text"),
        pytest.param([{"type": "doc"}], FieldSpec("s", pa.string()), '[{"type":"doc"}]', id="array-kept-as-json-text"),
        pytest.param("a\ud800b", FieldSpec("s", pa.string()), "a\ufffdb", id="lone-surrogate-replaced"),
        pytest.param(
            {"fields": {"summary": "Printer on fire"}},
            FieldSpec("summary", pa.string(), path=("fields", "summary")),
            "Printer on fire",
            id="nested-path",
        ),
        pytest.param(
            {"fields": None},
            FieldSpec("summary", pa.string(), path=("fields", "summary")),
            None,
            id="nested-path-through-null",
        ),
    ],
)
def test_values_are_typed_by_their_field(value: Any, spec: FieldSpec, expected: Any) -> None:
    assert one(value, spec) == (expected, None)


@pytest.mark.parametrize(
    ("value", "spec", "reason"),
    [
        pytest.param("abc", FieldSpec("n", pa.int64()), "n: 'abc' is not a valid int64", id="text-in-an-int"),
        pytest.param(1.5, FieldSpec("n", pa.int64()), "n: 1.5 is not a valid int64", id="fraction-in-an-int"),
        pytest.param(True, FieldSpec("n", pa.int64()), "n: true is not a valid int64", id="boolean-in-an-int"),
        pytest.param(2**70, FieldSpec("n", pa.int64()), "is not a valid int64", id="int-out-of-range"),
        pytest.param("maybe", FieldSpec("b", pa.bool_()), "b: 'maybe' is not a valid bool", id="text-in-a-bool"),
        pytest.param(
            {"a": 1}, FieldSpec("n", pa.int64()), "n: a JSON object where int64 was expected", id="object-in-an-int"
        ),
        pytest.param("2026-02-30", FieldSpec("d", pa.date32()), "d: '2026-02-30' is not a valid date32", id="bad-date"),
        pytest.param(
            "1.234",
            FieldSpec("m", pa.decimal128(12, 2)),
            "is not a valid decimal128(12, 2)",
            id="decimal-losing-digits",
        ),
    ],
)
def test_a_value_that_does_not_fit_is_null_with_its_reason_and_the_record_kept(
    value: Any, spec: FieldSpec, reason: str
) -> None:
    batch = records_to_batch([{"id": "r1", spec.name: value}, {"id": "r2"}], [FieldSpec("id", pa.string()), spec])
    assert batch.column(spec.name).to_pylist() == [None, None]
    errors = batch.column(ERROR).to_pylist()
    assert reason in errors[0] and errors[1] is None
    raw = json.loads(batch.column(RAW)[0].as_py())
    assert raw["id"] == "r1" and batch.column(RAW)[1].as_py() is None
    assert batch.num_rows == 2  # nothing dropped


def test_every_bad_field_of_a_row_is_named() -> None:
    specs = [FieldSpec("a", pa.int64()), FieldSpec("b", pa.date32())]
    batch = records_to_batch([{"a": "x", "b": "y"}], specs)
    assert batch.column(ERROR)[0].as_py() == "a: 'x' is not a valid int64; b: 'y' is not a valid date32[day]"


def deep(levels: int) -> Any:
    """A value nested ``levels`` deep, built without recursion (as a hostile JSON decodes)."""
    value: Any = "bottom"
    for _ in range(levels):
        value = {"a": [value]}
    return value


def test_hostile_nesting_is_bounded_without_recursion() -> None:
    spec = FieldSpec("body", pa.string())
    batch = records_to_batch([{"body": deep(100_000)}, {"body": deep(3)}], [spec])
    assert batch.column("body").to_pylist()[0] is None
    assert batch.column("body").to_pylist()[1] == '{"a":[{"a":[{"a":["bottom"]}]}]}'
    assert "body: a nested value deeper than max_depth=64" in batch.column(ERROR)[0].as_py()
    # The raw record is as deep: it is not kept, and the reason says why.
    assert batch.column(RAW)[0].as_py().startswith("(not kept: a nested value deeper")


@pytest.mark.parametrize(
    ("value", "limits", "problem"),
    [
        pytest.param(list(range(1000)), NestingLimits(max_items=100), "more than max_items=100", id="too-many-items"),
        pytest.param(["x" * 5000], NestingLimits(max_chars=1000), "longer than max_chars=1000", id="too-long"),
        pytest.param(deep(10), NestingLimits(max_depth=20), None, id="within-bounds"),
        pytest.param(deep(10), NestingLimits(max_depth=19), "deeper than max_depth=19", id="one-level-too-deep"),
    ],
)
def test_nesting_bounds(value: Any, limits: NestingLimits, problem: str | None) -> None:
    text, found = bounded_json(value, limits)
    if problem is None:
        assert found is None and json.loads(text or "") == value
    else:
        assert text is None and problem in (found or "")


def test_a_record_that_is_not_an_object_becomes_an_error_row() -> None:
    batch = records_to_batch([["not", "an", "object"], {"n": 1}, 7, None], [FieldSpec("n", pa.int64())])
    assert batch.column("n").to_pylist() == [None, 1, None, None]
    assert batch.column(ERROR).to_pylist() == [
        "the record is a JSON array, not an object",
        None,
        "the record is a JSON number, not an object",
        "the record is a JSON null, not an object",
    ]
    assert batch.column(RAW).to_pylist() == ['["not","an","object"]', None, "7", "null"]


def test_batches_are_bounded_and_pulled_lazily_from_the_records() -> None:
    pulled = itertools.count()

    def endless() -> Any:
        for i in pulled:
            yield {"id": i}

    source = endless()
    batches = records_to_batches(source, [FieldSpec("id", pa.int64())], batch_rows=1000)
    first, second = next(batches), next(batches)
    assert (first.num_rows, second.num_rows) == (1000, 1000)
    assert second.column("id")[0].as_py() == 1000
    assert next(pulled) == 2000  # only the records of the two batches were read from an endless source


def test_the_schema_is_the_same_for_every_batch_and_names_must_be_unique() -> None:
    fields = [FieldSpec("id", pa.string()), FieldSpec("n", pa.int64())]
    batches = list(records_to_batches(({"id": str(i), "n": i if i % 7 else "bad"} for i in range(25)), fields, 10))
    assert [b.num_rows for b in batches] == [10, 10, 5]
    assert all(b.schema == arrow_schema(fields) for b in batches)
    assert arrow_schema(fields).names == ["id", "n", ERROR, RAW]
    with pytest.raises(ValueError, match="unique"):
        arrow_schema([FieldSpec("id", pa.string()), FieldSpec("id", pa.int64())])
    with pytest.raises(ValueError, match="unique"):
        arrow_schema([FieldSpec(ERROR, pa.string())])
