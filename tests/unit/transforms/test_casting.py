"""Source text -> canonical types, with every unreadable value flagged rather than nulled."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from lumina_integration.transforms.casting import cast_text

UTC = UTC


@pytest.mark.parametrize(
    ("values", "target", "kwargs", "expected", "invalid"),
    [
        pytest.param(["1", " 2 ", None, ""], pa.int64(), {}, [1, 2, None, None], [], id="int-trim-empty-is-null"),
        pytest.param(["1", "x", "3", "4.5"], pa.int64(), {}, [1, None, 3, None], [1, 3], id="int-bad"),
        pytest.param(
            ["12.50", "7", "-0.01"],
            pa.decimal128(18, 2),
            {},
            [Decimal("12.50"), Decimal("7.00"), Decimal("-0.01")],
            [],
            id="decimal",
        ),
        pytest.param(["1.234"], pa.decimal128(18, 2), {}, [None], [0], id="decimal-would-lose-digits"),
        pytest.param(["1e3", "NaN?"], pa.float64(), {}, [1000.0, None], [1], id="float"),
        pytest.param(
            ["true", "F", "YES", "0", "maybe"],
            pa.bool_(),
            {"true_values": ["true", "yes"], "false_values": ["f", "0"]},
            [True, False, True, False, None],
            [4],
            id="boolean",
        ),
        pytest.param(["2024-02-29", "2023-02-29"], pa.date32(), {}, [date(2024, 2, 29), None], [1], id="date"),
        pytest.param(["01.03.2024"], pa.date32(), {"fmt": "%d.%m.%Y"}, [date(2024, 3, 1)], [], id="date-format"),
        pytest.param(
            ["2024-01-01T10:00:00Z", "2024-01-01T12:00:00+02:00", "2024-01-01 10:00:00", "2024-01-01"],
            pa.timestamp("us", tz="UTC"),
            {},
            [datetime(2024, 1, 1, 10, tzinfo=UTC)] * 3 + [datetime(2024, 1, 1, tzinfo=UTC)],
            [],
            id="timestamp-iso-mixed",
        ),
        pytest.param(
            ["2024-01-01 10:00:00"],
            pa.timestamp("us", tz="UTC"),
            {"timezone": "Europe/Berlin"},
            [datetime(2024, 1, 1, 9, tzinfo=UTC)],
            [],
            id="timestamp-local-zone",
        ),
        pytest.param(
            ["20240701120000"],
            pa.timestamp("us", tz="UTC"),
            {"fmt": "%Y%m%d%H%M%S", "timezone": "Europe/Berlin"},
            [datetime(2024, 7, 1, 10, tzinfo=UTC)],
            [],
            id="timestamp-format-dst",
        ),
        pytest.param(
            ["2024-13-01T00:00:00Z", "yesterday", "2024-01-01T00:00:00Z"],
            pa.timestamp("us", tz="UTC"),
            {},
            [None, None, datetime(2024, 1, 1, tzinfo=UTC)],
            [0, 1],
            id="timestamp-bad",
        ),
        pytest.param(["", " a "], pa.string(), {}, ["", " a "], [], id="string-untouched"),
    ],
)
def test_cast_text(
    values: list[Any], target: pa.DataType, kwargs: dict[str, Any], expected: list[Any], invalid: list[int]
) -> None:
    result = cast_text(pa.array(values, pa.string()), target, **kwargs)
    assert result.values.type == target
    assert result.values.to_pylist() == expected
    assert [i for i, bad in enumerate(result.invalid.to_pylist()) if bad] == invalid


def test_bisection_finds_sparse_bad_values_in_a_large_column() -> None:
    values = [str(i) for i in range(100_000)]
    for position in (0, 4_321, 99_999):
        values[position] = "oops"
    result = cast_text(pa.array(values), pa.int64())
    assert [i for i, bad in enumerate(result.invalid.to_pylist()) if bad] == [0, 4_321, 99_999]
    assert result.values.null_count == 3
    assert result.values[5].as_py() == 5


@pytest.mark.parametrize(
    ("values", "target", "fmt"),
    [
        pytest.param(["20230229120000"], pa.timestamp("us", tz="UTC"), "%Y%m%d%H%M%S", id="timestamp-feb-29"),
        pytest.param(["31.04.2024"], pa.date32(), "%d.%m.%Y", id="date-april-31"),
        pytest.param(["1.3.2024"], pa.date32(), "%d.%m.%Y", id="unpadded-is-not-the-format"),
    ],
)
def test_formats_never_roll_impossible_dates_over(values: list[str], target: pa.DataType, fmt: str) -> None:
    result = cast_text(pa.array(values), target, fmt=fmt)
    assert result.invalid.to_pylist() == [True]
    assert result.values.to_pylist() == [None]
