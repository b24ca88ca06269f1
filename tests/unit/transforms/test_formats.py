"""The value-format registry: names resolve lazily, unknown names fail when the mapping is parsed."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest

from lumina_integration.transforms import formats
from lumina_integration.transforms.casting import CastResult, cast_any
from lumina_integration.transforms.mapping import ColumnRule


def test_every_registered_format_resolves_to_a_value_cast() -> None:
    assert formats.value_formats() == sorted(formats.VALUE_FORMATS)
    for name in formats.value_formats():
        result = formats.value_cast(name)(pa.array([None], pa.string()), pa.string(), "UTC")
        assert isinstance(result, CastResult)
        assert result.invalid.to_pylist() == [False]  # null is "no value", never a bad one


@pytest.mark.parametrize("fmt", [None, "%Y%m%d", "%d.%m.%Y %H:%M", "sap_dats"])
def test_strptime_patterns_and_registered_names_are_accepted(fmt: str | None) -> None:
    formats.check_format(fmt)
    assert ColumnRule.model_validate({"from": "X", "format": fmt}).format == fmt


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        pytest.param("jira_adf", "unknown value format 'jira_adf'", id="unregistered-name"),
        pytest.param("YYYYMMDD", "a strptime pattern contains %", id="pattern-without-percent"),
    ],
)
def test_unknown_formats_fail_at_parse_time(fmt: str, message: str) -> None:
    with pytest.raises(formats.UnknownFormatError, match=message):
        formats.check_format(fmt)
    with pytest.raises(ValueError, match=r"registered value formats: \[.*'sap_alpha'"):
        ColumnRule.model_validate({"from": "X", "format": fmt})


def test_an_adapter_registers_a_format_by_adding_an_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    # The registration an adapter adds, pointing at a real cast function.
    monkeypatch.setitem(formats.VALUE_FORMATS, "test_char", "lumina_integration.transforms.sap_types.sap_char")
    try:
        formats.check_format("test_char")
        result = cast_any(pa.array(["ab  ", "  "], pa.string()), pa.string(), fmt="test_char")
        assert result.values.to_pylist() == ["ab", None]
        assert result.hint == "SAP CHAR"
    finally:
        formats.value_cast.cache_clear()


def test_an_unknown_name_at_run_time_is_a_clear_error() -> None:
    with pytest.raises(formats.UnknownFormatError, match="no_such_format"):
        formats.value_cast("no_such_format")


def test_the_registry_does_not_import_pyarrow() -> None:
    # Mappings are validated at DAG parse time, where pyarrow must not be imported.
    code = "import sys; import lumina_integration.transforms.formats; print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
