"""The plan and the step results: typed in the steps, the same JSON dicts on the wire."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from lumina_integration.operators.plan import maintenance_window
from lumina_integration.operators.results import ExtractResult, Plan, TransformResult, ValidateResult
from lumina_integration.refresh import RefreshPlan
from lumina_integration.window import Window

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_a_plan_written_by_an_older_plan_step_reads_with_the_defaults() -> None:
    """The keys a plan step before the typed model left out (mode, read, spent_24h...) default here alone."""
    plan = Plan.from_xcom(
        {
            "window": {"start": None, "end": NOW.isoformat()},
            "advance_watermark": True,
            "reprocess": False,
            "watermark": None,
            "source_now": NOW.isoformat(),
            "reason": "first load",
        }
    )
    assert (plan.mode, plan.read, plan.spent_24h, plan.fields, plan.refresh_columns) == (
        "incremental",
        True,
        (0, 0),
        None,
        None,
    )
    assert plan.window == Window(None, NOW)


def test_a_full_plan_round_trips_through_json() -> None:
    plan = Plan(
        window=Window(NOW - timedelta(hours=1), NOW),
        advance_watermark=False,
        reprocess=True,
        source_now=NOW,
        reason="whole object as of the source clock",
        watermark=NOW - timedelta(hours=2),
        mode="refresh",
        run_key="p__manual_1",
        spent_24h=(120, 2),
        fields=["Id", "Name"],
        schema_changes=1,
        schema="s3://lake/schema/drift.json",
        fields_covered=["Id", "Name"],
        refresh=RefreshPlan(["Id", "Score__c"], ["score"], ["Score__c"], []),
        read=True,
        estimate={"records": 10, "transport": "rest"},
    )
    wire = json.loads(json.dumps(plan.to_xcom()))
    assert Plan.from_xcom(wire) == plan
    assert wire["refresh"]["columns"] == ["score"] and wire["spent_24h"] == [120, 2]
    assert plan.refresh_columns == ["score"]


def test_unset_optional_keys_stay_off_the_wire() -> None:
    wire = maintenance_window(NOW, "reconcile").to_xcom()
    assert set(wire) == {
        "window",
        "advance_watermark",
        "reprocess",
        "watermark",
        "source_now",
        "reason",
        "mode",
        "run_key",
        "spent_24h",
        "read",
    }
    assert wire["window"] == {"start": None, "end": NOW.isoformat()} and wire["mode"] == "reconcile"
    resync = maintenance_window(NOW, "resync")
    assert resync.read_started_at is not None and "read_started_at" in resync.to_xcom()


def test_an_unknown_mode_is_refused() -> None:
    wire = maintenance_window(NOW).to_xcom() | {"mode": "rebuild"}
    with pytest.raises(ValueError, match="unknown run mode 'rebuild'"):
        Plan.from_xcom(wire)


def test_step_results_round_trip() -> None:
    extract = ExtractResult("s3://lake/raw/manifest.json", 10, 2)
    transform = TransformResult("s3://lake/canonical/manifest.json", 9, "s3://lake/quarantine/t.json", 1)
    validate = ValidateResult("s3://lake/v/manifest.json", 8, "s3://lake/quarantine/v.json", 1, "s3://lake/r.json")
    for result in (extract, transform, validate):
        assert type(result).from_xcom(json.loads(json.dumps(result.to_xcom()))) == result
    assert extract.to_xcom() == {"manifest": "s3://lake/raw/manifest.json", "rows": 10, "sources": 2}
