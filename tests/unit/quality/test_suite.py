"""Tests for the expectation specs and the Great Expectations suite built from an entity schema."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lumina_integration.canonical.registry import load_entity
from lumina_integration.canonical.schema import DELETED_COLUMN
from lumina_integration.paths import EXPECTATIONS_DIR
from lumina_integration.quality.suite import (
    SPEC_INDEX_META,
    ExpectationSpec,
    build_suite,
    expectation_specs,
    load_extra_expectations,
    suite_json,
)
from lumina_integration.yaml_models import YamlModelError

CUSTOMER_EXTRAS = [
    ("expect_column_values_to_match_regex", ["email"]),
    ("expect_column_values_to_be_between", ["employee_count"]),
    ("expect_column_values_to_match_regex", ["country_code"]),
]


def _write(tmp_path: Path, text: str, entity: str = "customer") -> Path:
    path = tmp_path / f"{entity}.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_customer_generated_specs_in_schema_order_then_extras() -> None:
    specs = expectation_specs(load_entity("customer"), load_extra_expectations("customer"))

    exist, not_null, in_set, lengths = (
        "expect_column_to_exist",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_value_lengths_to_be_between",
    )
    assert [(s.type, s.columns) for s in specs] == [
        (exist, ["source_system"]),
        (not_null, ["source_system"]),
        (exist, ["source_id"]),
        (not_null, ["source_id"]),
        (exist, ["name"]),
        (not_null, ["name"]),
        (lengths, ["name"]),
        (exist, ["email"]),
        (lengths, ["email"]),
        (exist, ["phone"]),
        (lengths, ["phone"]),
        (exist, ["country_code"]),
        (lengths, ["country_code"]),
        (exist, ["industry"]),
        (exist, ["status"]),
        (not_null, ["status"]),
        (in_set, ["status"]),
        (exist, ["annual_revenue"]),
        (exist, ["employee_count"]),
        (exist, ["created_at"]),
        (exist, ["source_updated_at"]),
        (not_null, ["source_updated_at"]),
        (exist, ["region"]),
        (exist, ["tier"]),
        (exist, ["rating"]),
        (exist, ["segment"]),
        (exist, ["sap_customer_number"]),
        (lengths, ["sap_customer_number"]),
        (exist, [DELETED_COLUMN]),
        (not_null, [DELETED_COLUMN]),
        *CUSTOMER_EXTRAS,
    ]
    assert all(s.severity == "critical" for s in specs)
    assert "expect_column_values_to_be_unique" not in {s.type for s in specs}


@pytest.mark.parametrize(
    ("type_", "column", "kwargs"),
    [
        pytest.param(
            "expect_column_values_to_be_in_set",
            "status",
            {"column": "status", "value_set": ["prospect", "active", "inactive"]},
            id="status-allowed-values",
        ),
        pytest.param(
            "expect_column_value_lengths_to_be_between",
            "name",
            {"column": "name", "max_value": 255},
            id="name-max-length",
        ),
        pytest.param(
            "expect_column_value_lengths_to_be_between",
            "country_code",
            {"column": "country_code", "max_value": 2},
            id="country-code-max-length",
        ),
        pytest.param(
            "expect_column_values_to_not_be_null",
            "source_id",
            {"column": "source_id"},
            id="primary-key-not-null-on-every-row",
        ),
        pytest.param(
            "expect_column_values_to_not_be_null",
            "source_updated_at",
            {"column": "source_updated_at"},
            id="cursor-not-null-on-every-row",
        ),
        pytest.param(
            "expect_column_values_to_not_be_null",
            "name",
            {
                "column": "name",
                "row_condition": {
                    "type": "comparison",
                    "column": {"name": DELETED_COLUMN},
                    "operator": "==",
                    "parameter": False,
                },
            },
            id="other-not-null-only-on-live-rows",
        ),
    ],
)
def test_customer_generated_kwargs(type_: str, column: str, kwargs: dict[str, object]) -> None:
    specs = expectation_specs(load_entity("customer"), [])

    [spec] = [s for s in specs if s.type == type_ and s.columns == [column]]
    assert spec.kwargs == kwargs


def test_customer_extras_match_the_yaml_file() -> None:
    extras = load_extra_expectations("customer")

    assert [(s.type, s.columns) for s in extras] == CUSTOMER_EXTRAS
    assert extras[1].kwargs == {"column": "employee_count", "min_value": 0}
    assert extras[0].kwargs["regex"] == r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def test_extras_of_every_shipped_file_load() -> None:
    for path in sorted(EXPECTATIONS_DIR.glob("*.yaml")):
        entity = path.stem
        specs = expectation_specs(load_entity(entity), load_extra_expectations(entity))
        assert specs[-1].type.startswith("expect_")


def test_no_file_means_no_extras(tmp_path: Path) -> None:
    assert load_extra_expectations("customer", root=tmp_path) == []


def test_severity_and_order_are_read_from_the_file(tmp_path: Path) -> None:
    _write(
        tmp_path,
        """
        expectations:
          - type: expect_table_row_count_to_be_between
            kwargs: {min_value: 1}
          - type: expect_column_values_to_match_regex
            kwargs: {column: email, regex: "@"}
            severity: warning
        """,
    )

    specs = load_extra_expectations("customer", root=tmp_path)

    assert [(s.type, s.severity) for s in specs] == [
        ("expect_table_row_count_to_be_between", "critical"),
        ("expect_column_values_to_match_regex", "warning"),
    ]


def test_unknown_expectation_type_names_file_line_and_type(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        expectations:
          - type: expect_column_values_to_not_be_null
            kwargs: {column: email}
          - type: expect_column_values_to_match_regexp
            kwargs: {column: email, regex: "@"}
        """,
    )

    with pytest.raises(YamlModelError) as info:
        load_extra_expectations("customer", root=tmp_path)

    message = str(info.value)
    assert f"{path}:4: expectations.1.type:" in message
    assert "unknown Great Expectations expectation type 'expect_column_values_to_match_regexp'" in message
    assert "did you mean 'expect_column_values_to_match_regex'?" in message
    assert len(info.value.problems) == 1


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        pytest.param(
            """
            expectations:
              - type: expect_column_values_to_match_regex
                kwargs: {column: email, regexp: "@"}
            """,
            3,
            "expectations.0.kwargs.regexp",
            "extra fields not permitted",
            id="kwarg-the-expectation-does-not-take",
        ),
        pytest.param(
            """
            expectations:
              - type: expect_column_values_to_be_in_set
                kwargs:
                  column: status
            """,
            3,
            "expectations.0.kwargs.value_set",
            "field required",
            id="missing-required-kwarg",
        ),
        pytest.param(
            """
            expectations:
              - type: expect_column_values_to_be_in_set
                kwargs:
                  column: status
                  value_set: active
            """,
            5,
            "expectations.0.kwargs.value_set",
            "value is not a valid list",
            id="kwarg-of-the-wrong-type",
        ),
        pytest.param(
            """
            expectations:
              - type: expect_column_values_to_match_regex
                kwargs: {column: email, regex: "@"}
                severity: fatal
            """,
            4,
            "expectations.0.severity",
            "Input should be 'critical' or 'warning'",
            id="unknown-severity",
        ),
        pytest.param(
            """
            expectations:
              - type: expect_column_values_to_match_regex
                kwargz: {column: email, regex: "@"}
            """,
            3,
            "expectations.0.kwargz",
            "unknown key",
            id="misspelt-key",
        ),
        pytest.param(
            """
            expectations:
              - type: expect_column_values_to_match_regex
                kwargs: {column: email, regex: "@"
            """,
            4,
            "",
            "invalid YAML",
            id="broken-yaml",
        ),
        pytest.param(
            """
            - type: expect_column_values_to_match_regex
            """,
            1,
            "",
            "expected a mapping",
            id="top-level-list",
        ),
    ],
)
def test_malformed_extras_name_file_and_line(tmp_path: Path, text: str, line: int, field: str, message: str) -> None:
    path = _write(tmp_path, text)

    with pytest.raises(YamlModelError) as info:
        load_extra_expectations("customer", root=tmp_path)

    assert info.value.path == str(path)
    [problem] = [p for p in info.value.problems if p.field == field]
    assert problem.line == line
    assert message in problem.message
    assert f"{path}:{line}: {field}" in str(info.value)


def test_extra_naming_an_unknown_column_is_rejected() -> None:
    extra = ExpectationSpec(type="expect_column_values_to_match_regex", kwargs={"column": "e_mail", "regex": "@"})

    with pytest.raises(ValueError, match=r"expect_column_values_to_match_regex\(e_mail\).*customer v1.*e_mail"):
        expectation_specs(load_entity("customer"), [extra])


def test_extra_on_the_delete_flag_is_allowed() -> None:
    extra = ExpectationSpec(
        type="expect_column_values_to_be_in_set", kwargs={"column": DELETED_COLUMN, "value_set": [False]}
    )

    assert expectation_specs(load_entity("customer"), [extra])[-1] == extra


def test_build_suite_has_one_expectation_per_spec_in_order() -> None:
    schema = load_entity("customer")
    specs = expectation_specs(schema, load_extra_expectations("customer"))

    suite = build_suite(schema, specs)

    assert suite.name == "customer_v1"
    assert len(suite.expectations) == len(specs) == 33
    assert [e.expectation_type for e in suite.expectations] == [s.type for s in specs]
    assert [e.meta[SPEC_INDEX_META] for e in suite.expectations] == list(range(len(specs)))


def test_suite_json_is_json_safe_and_keeps_severity() -> None:
    schema = load_entity("product")
    warning = ExpectationSpec(
        type="expect_column_values_to_match_regex",
        kwargs={"column": "currency", "regex": "^[A-Z]{3}$"},
        severity="warning",
    )
    specs = expectation_specs(schema, [warning])

    document = json.loads(json.dumps(suite_json(schema, specs)))

    assert document["name"] == "product_v1"
    assert len(document["expectations"]) == len(specs)
    last = document["expectations"][-1]
    assert (last["type"], last["severity"]) == ("expect_column_values_to_match_regex", "warning")
    assert last["kwargs"]["regex"] == "^[A-Z]{3}$"
    assert {e["severity"] for e in document["expectations"][:-1]} == {"critical"}


def test_importing_and_generating_specs_does_not_import_great_expectations() -> None:
    code = textwrap.dedent(
        """
        import sys
        import lumina_integration.quality.runner
        from lumina_integration.canonical.registry import load_entity
        from lumina_integration.quality.suite import expectation_specs, ExpectationSpec

        specs = expectation_specs(load_entity("customer"), [ExpectationSpec(type="x", kwargs={})])
        assert len(specs) == 31, len(specs)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("great_expectations", "pandas"))
        print(loaded)
        """
    )

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
