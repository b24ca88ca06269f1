"""Schema drift: field-level diffs and what each policy does about them."""

from __future__ import annotations

from typing import Any

import pytest

from lumina_integration.drift import decide, diff, snapshot_of
from lumina_integration.hooks.base import SourceField

BASE = snapshot_of(
    [
        SourceField("Id", "id", 18),
        SourceField("Name", "string", 255),
        SourceField("Amount", "currency", precision=18, scale=2),
        SourceField("Region__c", "picklist", 255, values=("APAC", "EMEA", "NA")),
        SourceField("Notes__c", "textarea", 32000),
    ]
)


def changed(**fields: dict[str, Any] | None) -> dict[str, Any]:
    snapshot = {name: dict(definition) for name, definition in BASE.items()}
    for name, definition in fields.items():
        if definition is None:
            snapshot.pop(name)
        else:
            snapshot[name] = {**snapshot.get(name, SourceField(name, "string").describe()), **definition}
    return snapshot


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        pytest.param(changed(), [], id="nothing"),
        pytest.param(changed(Tier__c={"type": "picklist"}), [("Tier__c", "added")], id="added"),
        pytest.param(changed(Notes__c=None), [("Notes__c", "removed")], id="removed"),
        pytest.param(changed(Amount={"type": "double"}), [("Amount", "type_changed")], id="retyped"),
        pytest.param(changed(Name={"length": 80}), [("Name", "length_changed")], id="shortened"),
        pytest.param(changed(Amount={"scale": 4}), [("Amount", "precision_changed")], id="rescaled"),
        pytest.param(
            changed(Region__c={"values": ["APAC", "EMEA", "LATAM", "NA"]}),
            [("Region__c", "values_changed")],
            id="picklist-value-added",
        ),
        pytest.param(changed(Name={"calculated": True}), [("Name", "calculated_changed")], id="became-formula"),
    ],
)
def test_diff(new: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert [(c["field"], c["change"]) for c in diff(BASE, new)] == expected


def test_first_run_takes_a_snapshot_and_logs_nothing() -> None:
    decision = decide("freeze", None, BASE, {"Name"})
    assert decision.changes == [] and decision.new_snapshot == BASE and decision.read_fields is None


@pytest.mark.parametrize("policy", ["evolve", "freeze", "quarantine"])
def test_an_added_field_never_stops_a_run(policy: Any) -> None:
    decision = decide(policy, BASE, changed(Tier__c={"type": "picklist"}), {"Name", "Tier__c"})
    assert decision.failure is None and decision.quarantine_reason is None
    [change] = decision.changes
    assert change["mapped"] is True
    if policy == "freeze":
        assert change["action"] == "ignored"
        assert "Tier__c" not in (decision.read_fields or []) and decision.new_snapshot is None
    else:
        assert change["action"] == "evolved" and decision.new_snapshot is not None
        assert "Tier__c" in decision.new_snapshot


def test_evolve_logs_a_retyped_mapped_field_and_moves_on() -> None:
    decision = decide("evolve", BASE, changed(Amount={"type": "double"}), {"Amount"})
    assert decision.failure is None and decision.quarantine_reason is None
    assert decision.changes[0]["action"] == "evolved" and decision.new_snapshot is not None


def test_freeze_fails_on_a_removed_mapped_field_but_not_on_an_unmapped_one() -> None:
    failing = decide("freeze", BASE, changed(Name=None), {"Name"})
    assert failing.failure is not None and "Name removed" in failing.failure
    fine = decide("freeze", BASE, changed(Notes__c=None), {"Name"})
    assert fine.failure is None
    assert fine.read_fields == ["Amount", "Id", "Name", "Region__c"]


def test_quarantine_keeps_the_old_snapshot_until_accepted() -> None:
    decision = decide("quarantine", BASE, changed(Amount={"type": "string"}), {"Amount"})
    assert decision.quarantine_reason == "schema drift in mapped fields: Amount type changed"
    assert decision.new_snapshot is None
    assert decision.changes[0]["action"] == "quarantined"
