"""Pipeline specs: the YAML data teams write, one file per pipeline (``dags/<domain>/<name>.dag.yaml``).

Validated at DAG parse time, so everything here stays light (Pydantic and PyYAML only). Unknown
keys are rejected so a misspelt option never silently falls back to a default.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from lumina_integration.alerts import DEFAULT_ALERTS_CONN_ID
from lumina_integration.protection.access import DEFAULT_ACCESS_CONTROL, check_access_control
from lumina_integration.protection.settings import Region

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_DAG_ID = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_PRESETS = {"@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly"}


def parse_duration(value: Any) -> timedelta:
    """``"90s"``, ``"10m"``, ``"2h"``, ``"1d"`` or a number of seconds -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    raise ValueError(f"expected a duration like 30s, 10m, 2h or 1d, got {value!r}")


def format_duration(value: timedelta) -> str:
    return f"{int(value.total_seconds())}s"


# Read as "10m"-style text; written back the same way, so a spec dumped to JSON reloads unchanged.
# The JSON Schema says what parse_duration reads (not ISO 8601), so editors do not flag "10m".
Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": _DURATION.pattern}, {"type": "integer", "minimum": 0}],
            "description": "a duration: 30s, 10m, 2h, 1d, or a number of seconds",
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(_Strict):
    """Where the data comes from.

    Args:
        type: the adapter (``file_drop``...); its connection types are checked at run time.
        conn_id: the Airflow connection holding the credentials (never put secrets in YAML).
        object: what to read: an S3 prefix for file drops, an sObject for Salesforce...
        options: adapter-specific settings, validated by the adapter's own options model.
    """

    type: str
    conn_id: str
    object: str
    options: dict[str, Any] = {}


class WindowSpec(_Strict):
    """How each run's extraction window is computed from the watermark.

    ``[watermark - lookback, min(data_interval_end, source_now - safety_lag))``; the first run
    starts at ``initial_start`` (or the beginning of time when unset).
    """

    lookback: Duration = timedelta(minutes=10)
    safety_lag: Duration = timedelta(minutes=1)
    initial_start: datetime | None = None


class ValidationSpec(_Strict):
    """``quarantine``: bad rows go to the quarantine table, good rows load. ``fail``: the run fails."""

    policy: Literal["quarantine", "fail"] = "quarantine"


class SchemaDriftSpec(_Strict):
    """What a run does when the source's fields changed since the last load (adapters that describe fields).

    ``evolve``: read the source as it is now and log every change; ``freeze``: keep reading the
    first snapshot's fields, fail on a removed or retyped mapped field; ``quarantine``: while a
    mapped field is removed or retyped, send the run's records to quarantine instead of loading.
    """

    policy: Literal["evolve", "freeze", "quarantine"] = "evolve"


class LoadSpec(_Strict):
    """The warehouse side. ``deletes``: tombstones set ``_is_deleted`` (soft) or remove the row (hard)."""

    warehouse_conn_id: str = "lumina_warehouse"
    deletes: Literal["soft", "hard"] = "soft"


class StagingSpec(_Strict):
    """The S3 data lake where raw and canonical Parquet parts are staged."""

    conn_id: str = "lumina_lake"
    bucket: str = "lumina-lake"

    @field_validator("bucket")
    @classmethod
    def _valid_bucket(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", value):
            raise ValueError(f"{value!r} is not a valid S3 bucket name")
        return value


def _check_schedule(value: object) -> str:
    if not isinstance(value, str):  # `schedule: 5` must be the spec's error with its line, not a crash
        raise ValueError(f"expected a cron expression with 5 fields or one of {sorted(_PRESETS)}, got {value!r}")
    value = value.strip()
    if value in _PRESETS:
        return value
    fields = value.split()
    if len(fields) != 5 or not all(re.match(r"^[0-9*/,\-A-Za-z]+$", f) for f in fields):
        raise ValueError(f"expected a cron expression with 5 fields or one of {sorted(_PRESETS)}, got {value!r}")
    return value


# Cron with 5 fields or a preset; checked when the spec is read.
Schedule = Annotated[str, BeforeValidator(_check_schedule)]


class MaintenanceSpec(_Strict):
    """Periodic runs beside the incremental one, each its own DAG (``<dag_id>__<kind>``).

    Args:
        reconcile: schedule of the version reconciliation (hard deletes, gaps, updates stamped below
            the lookback); None: no such DAG. (``<dag_id>__resync`` is manual only: no schedule.)
        refresh: schedule of the formula refresh and column-only backfills; None: no such DAG.
    """

    reconcile: Schedule | None = None
    refresh: Schedule | None = None


class AlertsSpec(_Strict):
    """Where a task that fails for good is reported (see :mod:`lumina_integration.alerts`).

    Attributes:
        slack_webhook_conn_id: an Airflow ``slackwebhook`` connection (the webhook URL is its
            secret); ``None``: no alerts.
    """

    slack_webhook_conn_id: str | None = DEFAULT_ALERTS_CONN_ID


# Role -> DAG resource -> actions, for the FAB auth manager (see lumina_integration.protection.access).
AccessControlSpec = Annotated[
    dict[str, dict[str, list[str]]],
    AfterValidator(check_access_control),
    Field(
        description="FAB roles allowed on this pipeline's DAGs: {role: {'DAGs': [actions], 'DAG Runs': [actions]}}; "
        "'{domain}' in a role name is the spec's folder"
    ),
]


class PipelineDefaults(_Strict):
    """What a ``_defaults.yaml`` beside specs may set for every pipeline below its folder."""

    owner: str | None = None
    tags: list[str] = []
    retries: Annotated[int, Field(ge=0, le=10)] | None = None
    retry_delay: Duration | None = None
    max_retry_delay: Duration | None = None
    schedule: str | None = None
    start_date: date | None = None
    window: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    load: dict[str, Any] | None = None
    staging: dict[str, Any] | None = None
    schema_drift: dict[str, Any] | None = None
    maintenance: dict[str, Any] | None = None
    alerts: dict[str, Any] | None = None
    region: Region | None = None
    access_control: AccessControlSpec | None = None


class PipelineSpec(_Strict):
    """One pipeline: one DAG ``plan >> extract >> transform >> validate >> load``."""

    dag_id: str
    description: str = ""
    owner: str
    tags: list[str] = []
    schedule: Schedule
    start_date: date
    catchup: bool = False
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    retry_delay: Duration = timedelta(minutes=1)
    max_retry_delay: Duration = timedelta(minutes=30)
    max_active_runs: Annotated[int, Field(ge=1, le=16)] = 1
    source: SourceSpec
    mapping: str
    window: WindowSpec = WindowSpec()
    validation: ValidationSpec = ValidationSpec()
    load: LoadSpec = LoadSpec()
    staging: StagingSpec = StagingSpec()
    schema_drift: SchemaDriftSpec = SchemaDriftSpec()
    maintenance: MaintenanceSpec = MaintenanceSpec()
    alerts: AlertsSpec = AlertsSpec()
    # Where the pipeline's data may live (an AWS region name); its staging bucket and warehouse must be
    # declared there in data_protection.yaml (checked at lint and parse time). None: not checked.
    region: Region | None = None
    access_control: AccessControlSpec = DEFAULT_ACCESS_CONTROL
    domain: str = ""

    @field_validator("dag_id")
    @classmethod
    def _valid_dag_id(cls, value: str) -> str:
        if not _DAG_ID.match(value):
            raise ValueError("dag_id must be lower snake_case (it is also the pipeline's state key)")
        return value

    @property
    def pipeline_id(self) -> str:
        return self.dag_id
