"""Window planning: continue from the watermark, reprocess a requested window or a backfill interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lumina_integration.factory.spec import PipelineSpec

UTC = UTC
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SPEC = PipelineSpec.model_validate(
    {
        "dag_id": "p",
        "owner": "o",
        "schedule": "@hourly",
        "start_date": "2026-01-01",
        "mapping": "m",
        "source": {"type": "file_drop", "conn_id": "c", "object": "s3://b/x/"},
        "window": {"lookback": "10m", "safety_lag": "1m", "initial_start": "2026-01-01T00:00:00Z"},
    }
)


def plan(**kwargs: Any) -> dict[str, Any]:
    """The plan as it goes on the wire (XCom)."""
    from lumina_integration.operators.plan import plan_window

    args: dict[str, Any] = {
        "run_type": "scheduled",
        "source_now": NOW,
        "watermark": None,
        "interval": None,
        "requested": None,
    }
    args.update(kwargs)
    return plan_window(SPEC, **args).to_xcom()


def iso(value: datetime) -> str:
    return value.isoformat()


@pytest.mark.parametrize(
    ("kwargs", "start", "end", "advance"),
    [
        pytest.param({}, datetime(2026, 1, 1, tzinfo=UTC), NOW - timedelta(minutes=1), True, id="first-load"),
        pytest.param(
            {"watermark": NOW - timedelta(hours=1), "interval": (NOW - timedelta(hours=1), NOW)},
            NOW - timedelta(minutes=70),
            NOW - timedelta(minutes=1),
            True,
            id="scheduled-capped-by-source-clock",
        ),
        pytest.param(
            {
                "watermark": NOW - timedelta(hours=3),
                "interval": (NOW - timedelta(hours=3), NOW - timedelta(hours=2)),
            },
            NOW - timedelta(hours=3, minutes=10),
            NOW - timedelta(hours=2),
            True,
            id="scheduled-interval-end",
        ),
        pytest.param(
            {"run_type": "manual", "watermark": NOW - timedelta(hours=3)},
            NOW - timedelta(hours=3, minutes=10),
            NOW - timedelta(minutes=1),
            True,
            id="manual-catches-up",
        ),
        pytest.param(
            {
                "run_type": "backfill",
                "watermark": NOW,
                "interval": (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)),
            },
            datetime(2026, 3, 1, tzinfo=UTC),
            datetime(2026, 3, 2, tzinfo=UTC),
            False,
            id="backfill-interval",
        ),
        pytest.param(
            {
                "run_type": "manual",
                "watermark": NOW,
                "requested": (datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 3, tzinfo=UTC)),
            },
            datetime(2026, 5, 1, tzinfo=UTC),
            datetime(2026, 5, 3, tzinfo=UTC),
            False,
            id="requested-window",
        ),
        pytest.param(
            {"run_type": "manual", "requested": (datetime(2026, 5, 1, tzinfo=UTC), None)},
            datetime(2026, 5, 1, tzinfo=UTC),
            NOW - timedelta(minutes=1),
            False,
            id="requested-open-end",
        ),
        pytest.param(
            # Ahead by the lookback at most (a clock stepped back further stops the run: see below).
            {"watermark": NOW + timedelta(minutes=10)},
            NOW - timedelta(minutes=1),
            NOW - timedelta(minutes=1),
            True,
            id="watermark-ahead-within-the-lookback-gives-empty-window",
        ),
    ],
)
def test_plan_window(kwargs: dict[str, Any], start: datetime, end: datetime, advance: bool) -> None:
    result = plan(**kwargs)
    assert result["window"] == {"start": iso(start), "end": iso(end)}
    assert result["advance_watermark"] is advance
    assert result["reprocess"] is (not advance)


def test_backfill_never_reaches_past_the_source_clock() -> None:
    result = plan(run_type="backfill", interval=(NOW - timedelta(minutes=30), NOW + timedelta(minutes=30)))
    assert result["window"]["end"] == iso(NOW - timedelta(minutes=1))


def test_a_source_clock_behind_the_watermark_beyond_the_lookback_stops_the_run() -> None:
    from lumina_integration.hooks.base import StopRun

    watermark = NOW + timedelta(minutes=11)  # the clock stepped back 11 minutes; the lookback is 10
    with pytest.raises(StopRun) as stopped:
        plan(watermark=watermark)
    message = str(stopped.value)
    assert f"the source clock {NOW.isoformat()} is behind the watermark {watermark.isoformat()}" in message
    assert "by 0:11:00, more than the lookback 0:10:00" in message
    assert "p__reconcile" in message


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param(
            {"watermark": NOW + timedelta(hours=1), "requested": (NOW - timedelta(days=1), None)}, id="requested"
        ),
        pytest.param(
            {"watermark": NOW + timedelta(hours=1), "run_type": "backfill", "interval": (NOW - timedelta(days=1), NOW)},
            id="backfill",
        ),
    ],
)
def test_runs_the_clock_check_does_not_stop(kwargs: dict[str, Any]) -> None:
    assert plan(**kwargs)["window"]["end"] <= iso(NOW)


def plan_operator() -> Any:
    from lumina_integration.operators.plan import PlanOperator

    return PlanOperator(task_id="plan", pipeline=SPEC.model_dump(mode="json"))


def test_plan_refuses_a_lake_connection_that_points_at_another_environments_lake(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    # This environment's lake is on port 9655; lumina_lake (conftest) points at the test's S3 server.
    monkeypatch.delenv("LUMINA_S3_ENDPOINT")
    monkeypatch.setenv("LUMINA_S3_PORT", "9655")
    with pytest.raises(AirflowFailException) as excinfo:
        plan_operator().execute({})
    assert str(excinfo.value) == (
        f"the lake connection 'lumina_lake' points at {s3_endpoint}, but this environment's lake is "
        "http://127.0.0.1:9655 (LUMINA_S3_ENDPOINT / LUMINA_S3_PORT): refusing to stage into another "
        "environment's lake; re-import the settings (`make settings`) or fix the connection"
    )


def test_plan_accepts_the_environments_own_lake_and_a_deployment_that_declares_none(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LUMINA_S3_ENDPOINT", s3_endpoint + "/")  # a trailing slash names the same server
    plan_operator().check_lake_endpoint()
    monkeypatch.delenv("LUMINA_S3_ENDPOINT")
    monkeypatch.delenv("LUMINA_S3_PORT", raising=False)
    plan_operator().check_lake_endpoint()


def test_plan_refuses_an_endpoint_left_as_a_placeholder(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from airflow.sdk.exceptions import AirflowFailException

    # What the astro CLI, which does not expand placeholders, would store from airflow_settings.yaml.
    monkeypatch.setenv(
        "AIRFLOW_CONN_LUMINA_LAKE",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": "${LUMINA_S3_ENDPOINT}"}}),
    )
    monkeypatch.delenv("LUMINA_S3_ENDPOINT")
    with pytest.raises(AirflowFailException, match=r"unexpanded endpoint_url '\$\{LUMINA_S3_ENDPOINT\}'"):
        plan_operator().execute({})
