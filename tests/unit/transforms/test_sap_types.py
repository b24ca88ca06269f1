"""SAP dictionary types: one named case per quirk, then the same quirks through a mapping."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from lumina_integration.canonical.schema import EntitySchema
from lumina_integration.transforms import sap_types
from lumina_integration.transforms.apply import apply_mapping
from lumina_integration.transforms.casting import cast_any
from lumina_integration.transforms.formats import VALUE_FORMATS, value_cast
from lumina_integration.transforms.mapping import ColumnRule, Mapping


def _cast(fmt: str, values: list[Any], target: pa.DataType, timezone: str = "UTC") -> tuple[list[Any], list[bool]]:
    result = cast_any(pa.array(values, pa.string()), target, fmt=fmt, timezone=timezone)
    return result.values.to_pylist(), result.invalid.to_pylist()


@pytest.mark.parametrize(
    ("fmt", "raw", "target", "expected", "invalid"),
    [
        pytest.param("sap_dats", "20241105", pa.date32(), date(2024, 11, 5), False, id="dats-plain"),
        pytest.param("sap_dats", "00000000", pa.date32(), None, False, id="dats-00000000-is-null"),
        pytest.param("sap_dats", "        ", pa.date32(), None, False, id="dats-blank-is-null"),
        pytest.param("sap_dats", None, pa.date32(), None, False, id="dats-db-null-appended-column"),
        pytest.param("sap_dats", "99991231", pa.date32(), date(9999, 12, 31), False, id="dats-9999-valid-to"),
        pytest.param("sap_dats", "20241399", pa.date32(), None, True, id="dats-month-13-rejected"),
        pytest.param("sap_dats", "20230229", pa.date32(), None, True, id="dats-feb-29-non-leap-rejected"),
        pytest.param("sap_dats", "2024-11-05", pa.date32(), None, True, id="dats-iso-text-rejected"),
        pytest.param("sap_dats", "20241100", pa.date32(), None, True, id="dats-day-00-rejected"),
        pytest.param("sap_tims", "235959", pa.string(), "23:59:59", False, id="tims-plain"),
        pytest.param("sap_tims", "000000", pa.string(), "00:00:00", False, id="tims-midnight-kept"),
        pytest.param("sap_tims", "250000", pa.string(), None, True, id="tims-hour-25-rejected"),
        pytest.param("sap_tims", "12A000", pa.string(), None, True, id="tims-letters-rejected"),
        pytest.param("sap_numc", "000010", pa.int64(), 10, False, id="numc-leading-zeros-to-integer"),
        pytest.param("sap_numc", "000010", pa.string(), "000010", False, id="numc-leading-zeros-kept-as-text"),
        pytest.param("sap_numc", "00001A", pa.int64(), None, True, id="numc-non-digit-rejected"),
        pytest.param("sap_numc", "00001A", pa.string(), None, True, id="numc-non-digit-rejected-as-text"),
        pytest.param("sap_alpha", "0000012345", pa.string(), "12345", False, id="alpha-numeric-id-unpadded"),
        pytest.param("sap_alpha", "CUST-A    ", pa.string(), "CUST-A", False, id="alpha-non-numeric-id-kept"),
        pytest.param("sap_alpha", "0000000000", pa.string(), None, False, id="alpha-all-zeros-initial"),
        pytest.param("sap_char", "Steel bolt   ", pa.string(), "Steel bolt", False, id="char-trailing-padding"),
        pytest.param("sap_char", "  indented", pa.string(), "  indented", False, id="char-leading-blanks-kept"),
        pytest.param("sap_char", "     ", pa.string(), None, False, id="char-all-blank-initial"),
        pytest.param("sap_spras", "E", pa.string(), "en", False, id="spras-E-english"),
        pytest.param("sap_spras", "D", pa.string(), "de", False, id="spras-D-german"),
        pytest.param("sap_spras", "1", pa.string(), "zh", False, id="spras-digit-key-chinese"),
        pytest.param("sap_spras", "e", pa.string(), None, True, id="spras-case-matters"),
    ],
)
def test_sap_format(fmt: str, raw: str | None, target: pa.DataType, expected: Any, invalid: bool) -> None:
    values, flags = _cast(fmt, [raw], target)
    assert (values[0], flags[0]) == (expected, invalid)


@pytest.mark.parametrize(
    ("raw", "timezone", "expected"),
    [
        pytest.param("20241105143000", "UTC", datetime(2024, 11, 5, 14, 30, tzinfo=UTC), id="datetime-utc"),
        pytest.param(
            "20240701120000", "Europe/Berlin", datetime(2024, 7, 1, 10, 0, tzinfo=UTC), id="datetime-system-zone"
        ),
        pytest.param("20241105", "UTC", datetime(2024, 11, 5, tzinfo=UTC), id="datetime-blank-tims-midnight"),
        pytest.param("00000000000000", "UTC", None, id="datetime-initial-date-is-null"),
        pytest.param(
            "20241027023000", "Europe/Berlin", datetime(2024, 10, 27, 0, 30, tzinfo=UTC), id="datetime-dst-repeated"
        ),
    ],
)
def test_sap_timestamp(raw: str, timezone: str, expected: datetime | None) -> None:
    values, flags = _cast("sap_timestamp", [raw], pa.timestamp("us", tz="UTC"), timezone)
    assert (values[0], flags[0]) == (expected, False)


def test_sap_timestamp_rejects_an_impossible_time() -> None:
    values, flags = _cast("sap_timestamp", ["20241105246000", "20241105120000"], pa.timestamp("us", tz="UTC"))
    assert flags == [True, False] and values[0] is None


@pytest.mark.parametrize(
    ("amount", "decimals", "expected"),
    [
        pytest.param(Decimal("123.45"), 2, Decimal("123.45"), id="curr-eur-two-decimals"),
        pytest.param(Decimal("123.45"), None, Decimal("123.45"), id="curr-no-tcurx-entry-means-two"),
        pytest.param(Decimal("123.45"), 0, Decimal("12345"), id="curr-jpy-zero-decimals"),
        pytest.param(Decimal("123.45"), 3, Decimal("12.345"), id="curr-kwd-three-decimals"),
        pytest.param(None, 0, None, id="curr-null-amount"),
    ],
)
def test_currency_shift(amount: Decimal | None, decimals: int | None, expected: Decimal | None) -> None:
    result = sap_types.shift_currency(pa.array([amount], pa.decimal128(15, 2)), pa.array([decimals], pa.int64()))
    value = result.values.to_pylist()[0]
    assert (value, result.invalid.to_pylist()) == (expected, [False])


def test_currency_shift_flags_impossible_decimals() -> None:
    result = sap_types.shift_currency(pa.array([Decimal("1.00")] * 2), pa.array([-1, 99]))
    assert result.invalid.to_pylist() == [True, True]


def test_quan_is_not_shifted_by_currency() -> None:
    # QUAN carries its own decimals (3 for KWMENG): no TCURX, a plain decimal cast.
    result = cast_any(pa.array([Decimal("12.500")], pa.decimal128(15, 3)), pa.decimal128(18, 3))
    assert result.values.to_pylist() == [Decimal("12.500")]


def test_every_sap_format_is_registered_and_known_to_the_mapping_model() -> None:
    assert sorted(sap_types.SAP_FORMATS) == sorted(name for name in VALUE_FORMATS if name.startswith("sap_"))
    for fmt in sap_types.SAP_FORMATS:
        assert value_cast(fmt) is getattr(sap_types, fmt)
    with pytest.raises(ValueError, match="unknown value format 'sap_dat'"):
        ColumnRule.model_validate({"from": "X", "format": "sap_dat"})


ORDERS = EntitySchema.model_validate(
    {
        "entity": "sap_quirks",
        "version": 1,
        "primary_key": ["source_id"],
        "cursor": "changed_at",
        "columns": [
            {"name": "source_id", "type": "string", "nullable": False},
            {"name": "line", "type": "integer"},
            {"name": "order_date", "type": "date"},
            {"name": "net_value", "type": "decimal(20,4)"},
            {"name": "language", "type": "string"},
            {"name": "changed_at", "type": "timestamp", "nullable": False},
        ],
    }
)


def test_impossible_date_quarantines_the_row_with_its_reason() -> None:
    mapping = Mapping(
        entity="sap_quirks",
        entity_version=1,
        columns={
            "source_id": ColumnRule.model_validate({"from": "VBELN"}),
            "line": ColumnRule.model_validate({"from": "POSNR", "format": "sap_numc"}),
            "order_date": ColumnRule.model_validate({"from": "AUDAT", "format": "sap_dats"}),
            "net_value": ColumnRule.model_validate({"from": "NETWR", "sap_currency_decimals": "WAERK_CURRDEC"}),
            "language": ColumnRule.model_validate({"from": "SPRAS", "format": "sap_spras"}),
            "changed_at": ColumnRule.model_validate({"from": "STAMP", "format": "sap_timestamp"}),
        },
    )
    raw = pa.table(
        {
            "VBELN": ["0000004711", "0000004712", "0000004713"],
            "POSNR": ["000010", "000020", "000030"],
            "AUDAT": ["20241105", "20241399", "00000000"],
            "NETWR": pa.array([Decimal("123.45"), Decimal("1.00"), Decimal("10.00")], pa.decimal128(15, 2)),
            "WAERK_CURRDEC": pa.array([0, None, 3], pa.int64()),
            "SPRAS": ["E", "D", "F"],
            "STAMP": ["20241105101500", "20241105101500", "20241106000000"],
        }
    )
    result = apply_mapping(mapping, ORDERS, raw)
    good = result.canonical.to_pylist()
    assert [r["source_id"] for r in good] == ["0000004711", "0000004713"]
    assert good[0]["line"] == 10 and good[0]["net_value"] == Decimal("12345") and good[0]["language"] == "en"
    assert good[1]["order_date"] is None and good[1]["net_value"] == Decimal("1.000")
    assert result.rejected.num_rows == 1
    reason = result.rejected.column("reason").to_pylist()[0]
    assert reason == "order_date: cannot read '20241399' as date (SAP DATS is YYYYMMDD, 00000000 for no date)"


def test_language_dependent_text_falls_back_in_order_of_preference() -> None:
    english = pa.array(["Steel bolt  ", None, "   ", None])
    german = pa.array(["Stahlbolzen", "Mutter", "Scheibe", None])
    text, language = sap_types.pick_text([("E", english), ("D", german)])
    assert text.to_pylist() == ["Steel bolt", "Mutter", "Scheibe", None]
    assert language.to_pylist() == ["E", "D", "D", None]


def test_concat_of_all_null_parts_is_null_and_keeps_the_row() -> None:
    # Tombstones carry no ERDAT/ERZET; Arrow's join under null_handling="skip" used to drop such rows.
    mapping = Mapping(
        entity="sap_quirks",
        entity_version=1,
        columns={
            "source_id": ColumnRule.model_validate({"from": "VBELN"}),
            "changed_at": ColumnRule.model_validate(
                {"concat": ["ERDAT", "ERZET"], "separator": "", "format": "sap_timestamp"}
            ),
        },
    )
    raw = pa.table({"VBELN": ["1", "2"], "ERDAT": [None, "20241105"], "ERZET": [None, "101500"]})
    result = apply_mapping(mapping, ORDERS, raw)
    assert result.canonical.column("changed_at").to_pylist() == [None, datetime(2024, 11, 5, 10, 15, tzinfo=UTC)]
