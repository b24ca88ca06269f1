"""SOQL from allow-listed identifiers and escaped values, with an injection corpus."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from lumina_integration.hooks.salesforce.soql import (
    InvalidIdentifier,
    UnknownIdentifier,
    api_name,
    count_window,
    datetime_literal,
    quote_string,
    select_window,
)

FIELDS = ["Id", "Name", "SystemModstamp", "IsDeleted"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_window_query_has_a_closed_lower_bound_and_a_stable_order() -> None:
    query = select_window(
        "account",
        ["id", "NAME"],
        "systemmodstamp",
        T0,
        T0 + timedelta(hours=1),
        allowed_objects=["Account"],
        allowed_fields=FIELDS,
    )
    assert query == (
        "SELECT Id, Name FROM Account WHERE SystemModstamp >= 2026-01-01T00:00:00.000Z AND "
        "SystemModstamp < 2026-01-01T01:00:00.000Z ORDER BY SystemModstamp ASC, Id ASC"
    )


def test_first_load_has_no_lower_bound_and_count_shares_the_where() -> None:
    count = count_window("Account", "SystemModstamp", None, T0, allowed_objects=["Account"], allowed_fields=FIELDS)
    assert count == "SELECT COUNT() FROM Account WHERE SystemModstamp < 2026-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("sobject", "fields"),
    [
        pytest.param("Account WHERE Name != null", ["Id"], id="object-with-clause"),
        pytest.param("Account", ["Id, (SELECT Id FROM Contacts)"], id="subquery-in-field"),
        pytest.param("Account", ["Name FROM User --"], id="field-with-from"),
        pytest.param("Account", ["Id", "Password__c"], id="undiscovered-field"),
        pytest.param("User", ["Id"], id="undiscovered-object"),
    ],
)
def test_identifiers_outside_the_allow_list_are_refused(sobject: str, fields: list[str]) -> None:
    with pytest.raises(UnknownIdentifier):
        select_window(sobject, fields, "SystemModstamp", None, T0, allowed_objects=["Account"], allowed_fields=FIELDS)


@pytest.mark.parametrize(
    "name",
    ["Contact WHERE Name != ''", "Contact--", "Name /* x */", "Name FROM User", "Id, Name", "'Id'", ""],
)
def test_every_query_refuses_by_the_rule_lint_applies(name: str) -> None:
    with pytest.raises(InvalidIdentifier) as lint_side:
        api_name(name, "sObject")
    # Refused by its shape before the allow-list is consulted, even where a (faulty) allow-list has it.
    with pytest.raises(InvalidIdentifier) as run_side:
        select_window(name, ["Id"], "SystemModstamp", None, T0, allowed_objects=[name], allowed_fields=FIELDS)
    assert str(run_side.value) == str(lint_side.value)
    assert api_name("ns__Invoice_Line__c", "sObject") == "ns__Invoice_Line__c"


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        pytest.param("plain", "'plain'", id="plain"),
        pytest.param("it's", "'it\\'s'", id="quote"),
        pytest.param("x' OR Name != '", "'x\\' OR Name != \\''", id="or-injection"),
        pytest.param("back\\slash", "'back\\\\slash'", id="backslash"),
        pytest.param("a\nb\tc", "'a\\nb\\tc'", id="control-chars"),
        pytest.param('say "hi"', "'say \\\"hi\\\"'", id="double-quote"),
        pytest.param("\\' OR '1'='1", "'\\\\\\' OR \\'1\\'=\\'1'", id="escaped-escape"),
    ],
)
def test_string_values_are_escaped(value: str, literal: str) -> None:
    assert quote_string(value) == literal


def test_datetime_literals_are_utc_with_millis() -> None:
    local = datetime(2026, 1, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert datetime_literal(local) == "2026-01-01T10:30:15.123Z"
    with pytest.raises(ValueError):
        datetime_literal(datetime(2026, 1, 1))
