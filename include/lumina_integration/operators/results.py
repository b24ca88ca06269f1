"""What the steps hand each other: the run's plan and each step's result, typed and built here alone.

On the wire (XCom) each is the JSON dict it always was; :meth:`to_xcom` writes it and
:meth:`from_xcom` reads it back, so every default (``mode`` ``incremental``, ``read`` true, no
fields narrowed...) is stated once, here, instead of as ``plan.get("mode", "incremental")`` in each
step that reads it. Optional keys are left out of the dict when unset, as the steps wrote them
before. The load step's result is :class:`lumina_integration.warehouse.loader.LoadResult` (the
loader builds it; it imports SQLAlchemy, which this module must not: DAG files import the steps).

Light on purpose (dataclasses and :mod:`lumina_integration.window`): no pyarrow, no Airflow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from lumina_integration.refresh import RefreshPlan
from lumina_integration.window import Window, parse_instant

RunMode = Literal["incremental", "reconcile", "refresh", "resync"]
RUN_MODES: tuple[RunMode, ...] = ("incremental", "reconcile", "refresh", "resync")


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Plan:
    """What one run reads, decided by the plan step (see :mod:`lumina_integration.operators.plan`).

    Attributes:
        window: the cursor range to read.
        advance_watermark: whether the load moves the watermark to the window's end.
        reprocess: read every source version again (a continuing run skips the loaded ones).
        watermark: the watermark the plan saw (None: first load, or a maintenance run).
        source_now: the source's clock when planned.
        reason: why this window, in words (logged, and asserted by tests).
        mode: the run mode.
        run_key: the run's key in the lake's layout.
        spent_24h: (API calls, bulk jobs) this pipeline's runs spent in the last 24 hours.
        read_started_at: resync runs: when reading began (the worker's clock).
        fields: the source fields to read when schema drift narrowed them (None: the mapping's own).
        schema_changes: how many schema changes the drift check found (None: the adapter has no schema).
        schema: where the drift document (snapshot, changes) is in the lake.
        quarantine_reason: when set, every record is quarantined with it (the mapping no longer fits).
        fields_covered: the fields every loaded record will have once this run commits.
        refresh: refresh runs: what to re-read and which columns to update.
        read: False when there is nothing to read (a refresh with nothing to refresh).
        estimate: the adapter's cost estimate of the window (``records``, ``api_calls``, ``transport``...).
    """

    window: Window
    advance_watermark: bool
    reprocess: bool
    source_now: datetime
    reason: str
    watermark: datetime | None = None
    mode: RunMode = "incremental"
    run_key: str = ""
    spent_24h: tuple[int, int] = (0, 0)
    read_started_at: datetime | None = None
    fields: list[str] | None = None
    schema_changes: int | None = None
    schema: str | None = None
    quarantine_reason: str | None = None
    fields_covered: list[str] | None = None
    refresh: RefreshPlan | None = None
    read: bool = True
    estimate: dict[str, Any] | None = None

    @property
    def refresh_columns(self) -> list[str] | None:
        """The canonical columns a refresh run updates; None for every other mode (all columns)."""
        if self.mode != "refresh":
            return None
        return self.refresh.columns if self.refresh is not None else []

    def to_xcom(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "window": self.window.to_xcom(),
            "advance_watermark": self.advance_watermark,
            "reprocess": self.reprocess,
            "watermark": _instant(self.watermark),
            "source_now": _instant(self.source_now),
            "reason": self.reason,
            "mode": self.mode,
            "run_key": self.run_key,
            "spent_24h": list(self.spent_24h),
            "read": self.read,
        }
        optional = {
            "read_started_at": _instant(self.read_started_at),
            "fields": self.fields,
            "schema_changes": self.schema_changes,
            "schema": self.schema,
            "quarantine_reason": self.quarantine_reason,
            "fields_covered": self.fields_covered,
            "refresh": asdict(self.refresh) if self.refresh is not None else None,
            "estimate": self.estimate,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        return out

    @classmethod
    def from_xcom(cls, data: dict[str, Any]) -> Plan:
        source_now = parse_instant(data["source_now"])
        if source_now is None:
            raise ValueError("a plan without source_now")
        mode = data.get("mode", "incremental")
        if mode not in RUN_MODES:
            raise ValueError(f"unknown run mode {mode!r} in the plan; known: {RUN_MODES}")
        calls, jobs = data.get("spent_24h", (0, 0))
        refresh = data.get("refresh")
        return cls(
            window=Window.from_xcom(data["window"]),
            advance_watermark=bool(data["advance_watermark"]),
            reprocess=bool(data["reprocess"]),
            source_now=source_now,
            reason=str(data.get("reason", "")),
            watermark=parse_instant(data.get("watermark")),
            mode=mode,
            run_key=str(data.get("run_key", "")),
            spent_24h=(int(calls), int(jobs)),
            read_started_at=parse_instant(data.get("read_started_at")),
            fields=data.get("fields"),
            schema_changes=data.get("schema_changes"),
            schema=data.get("schema"),
            quarantine_reason=data.get("quarantine_reason"),
            fields_covered=data.get("fields_covered"),
            refresh=RefreshPlan(**refresh) if refresh is not None else None,
            read=bool(data.get("read", True)),
            estimate=data.get("estimate"),
        )


@dataclass(frozen=True)
class ExtractResult:
    """The raw manifest the extract wrote, its rows, and how many source versions it read."""

    manifest: str
    rows: int
    sources: int = 0

    def to_xcom(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_xcom(cls, data: dict[str, Any]) -> ExtractResult:
        return cls(str(data["manifest"]), int(data["rows"]), int(data.get("sources", 0)))


@dataclass(frozen=True)
class TransformResult:
    """The canonical manifest and the quarantine manifest of records the mapping could not read."""

    manifest: str
    rows: int
    quarantine: str
    rejected: int = 0
    withheld_erased: int = 0  # rows of subjects erased on request, kept out of the canonical parts

    def to_xcom(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_xcom(cls, data: dict[str, Any]) -> TransformResult:
        return cls(
            str(data["manifest"]),
            int(data["rows"]),
            str(data["quarantine"]),
            int(data.get("rejected", 0)),
            int(data.get("withheld_erased", 0)),
        )


@dataclass(frozen=True)
class ValidateResult:
    """The validated manifest, the quarantine manifest of rows that failed expectations, the report."""

    manifest: str
    rows: int
    quarantine: str
    rejected: int = 0
    report: str = ""

    def to_xcom(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_xcom(cls, data: dict[str, Any]) -> ValidateResult:
        return cls(
            str(data["manifest"]),
            int(data["rows"]),
            str(data["quarantine"]),
            int(data.get("rejected", 0)),
            str(data.get("report", "")),
        )
