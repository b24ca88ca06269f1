"""Retention: what each zone keeps, per entity, enforced by the ``lumina_retention`` DAG.

Days come from ``data_protection().retention`` (zone defaults, per-entity overrides; null keeps forever).
The targets come from the pipeline specs: each pipeline's lake prefixes (``<zone>/<system>/<object>/`` in
its staging bucket) for the raw, canonical, quarantine and validation zones, and its warehouse for the
quarantine, audit and soft-deleted rows. What was removed is counted per zone and entity, logged,
returned (XCom) and written as one audit row per warehouse (``lumina_audit``, mode ``retention``).
The lake and warehouse mechanics are in :mod:`.retention_lake` and :mod:`.retention_warehouse`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lumina_integration.protection.settings import RetentionSettings, Zone

LAKE_ZONES: tuple[Zone, ...] = ("raw", "canonical", "quarantine", "validation")
PIPELINE_ID = "lumina_retention"


@dataclass
class PipelineTargets:
    """Where one warehouse's pipelines keep their data: lake prefixes with the entities writing there."""

    warehouse_conn_id: str
    entities: set[str] = field(default_factory=set)
    # (lake conn id, bucket, zone, prefix) -> entities staged under it
    prefixes: dict[tuple[str, str, Zone, str], set[str]] = field(default_factory=dict)


def pipeline_targets(dags_dir: Path) -> list[PipelineTargets]:
    """Every warehouse the specs under ``dags_dir`` load into, with its lake prefixes (a prefix listed once)."""
    from lumina_integration.factory.specs import iter_specs
    from lumina_integration.staging.layout import slug
    from lumina_integration.transforms.mapping import load_mapping
    from lumina_integration.yaml_models import YamlModelError

    by_warehouse: dict[str, PipelineTargets] = {}
    owner: dict[tuple[str, str, Zone, str], str] = {}
    for item in iter_specs(dags_dir):
        if isinstance(item, YamlModelError):
            continue  # a broken spec is the linter's to report; its data is swept once it parses
        spec = item.spec
        entity = load_mapping(spec.mapping).entity
        target = by_warehouse.setdefault(spec.load.warehouse_conn_id, PipelineTargets(spec.load.warehouse_conn_id))
        target.entities.add(entity)
        for zone in LAKE_ZONES:
            prefix = f"{zone}/{slug(spec.source.type)}/{slug(spec.source.object)}/"
            key = (spec.staging.conn_id, spec.staging.bucket, zone, prefix)
            home = by_warehouse[owner.setdefault(key, spec.load.warehouse_conn_id)]
            home.prefixes.setdefault(key, set()).add(entity)
    return sorted(by_warehouse.values(), key=lambda t: t.warehouse_conn_id)


def lake_days(settings: RetentionSettings, zone: Zone, entities: set[str]) -> int | None:
    """Days a shared prefix keeps: the longest of its entities' (None, forever, wins)."""
    days = [settings.days(zone, e) for e in sorted(entities)]
    return None if any(d is None for d in days) else max(d for d in days if d is not None)


@dataclass
class RetentionReport:
    """What one retention run removed: ``lake[zone][entity]`` objects, ``warehouse[zone][entity]`` rows."""

    now: str
    guard_days: int
    lake: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    warehouse: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    runs_removed: int = 0
    runs_kept_recent: int = 0
    runs_kept_protected: int = 0
    delete_calls: int = 0

    @property
    def objects_removed(self) -> int:
        return sum(n for zone in self.lake.values() for n in zone.values())

    @property
    def rows_removed(self) -> int:
        return sum(n for zone in self.warehouse.values() for n in zone.values())

    def to_xcom(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "guard_days": self.guard_days,
            "lake": {z: dict(v) for z, v in self.lake.items() if v},
            "warehouse": {z: dict(v) for z, v in self.warehouse.items() if v},
            "objects_removed": self.objects_removed,
            "rows_removed": self.rows_removed,
            "runs_removed": self.runs_removed,
            "runs_kept_recent": self.runs_kept_recent,
            "runs_kept_protected": self.runs_kept_protected,
            "delete_calls": self.delete_calls,
        }

    def lines(self) -> list[str]:
        """The report in words, one line per zone and entity (what the task log shows)."""
        out = [
            f"lake {zone} {entity}: {n} object(s) removed"
            for zone, counts in sorted(self.lake.items())
            for entity, n in sorted(counts.items())
        ]
        out += [
            f"warehouse {zone} {entity}: {n} row(s) removed"
            for zone, counts in sorted(self.warehouse.items())
            for entity, n in sorted(counts.items())
        ]
        out.append(
            f"total: {self.objects_removed} object(s) in {self.runs_removed} run(s), {self.rows_removed} row(s); "
            f"kept {self.runs_kept_recent} expired run(s) written within {self.guard_days} day(s) and "
            f"{self.runs_kept_protected} run(s) behind a current watermark"
        )
        return out


def _run_logger(log: Callable[[str], None], bucket: str, prefix: str) -> Callable[[str], None]:
    def removed(key: str) -> None:
        log(f"removed run s3://{bucket}/{prefix}{key}/")

    return removed


def _add(counts: dict[str, int], key: str, n: int) -> None:
    if n:
        counts[key] = counts.get(key, 0) + n


def apply_retention(
    targets: list[PipelineTargets],
    settings: RetentionSettings,
    *,
    warehouse: Callable[[str], Any],
    lake: Callable[[str], Any],
    now: datetime | None = None,
    run_id: str = "manual",
    log: Callable[[str], None] = lambda _line: None,
) -> RetentionReport:
    """Remove what ``settings`` says has expired at ``now`` from every target; returns the report.

    ``warehouse(conn_id)`` gives a :class:`~lumina_integration.warehouse.connection.WarehouseTarget`,
    ``lake(conn_id)`` a boto3 S3 client (the DAG passes the Airflow connections' own).
    """
    from lumina_integration.protection import retention_warehouse as wh
    from lumina_integration.protection.retention_lake import sweep_prefix

    now = now or datetime.now(UTC)
    # A plain aware datetime (Airflow hands pendulum instants): every comparison below is between aware values.
    now = datetime.fromtimestamp((now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp(), UTC)
    report = RetentionReport(now=now.isoformat(), guard_days=settings.guard_days)
    written_after = now - timedelta(days=settings.guard_days)

    def cutoff(zone: Zone) -> Callable[[str | None], datetime | None]:
        def for_entity(entity: str | None) -> datetime | None:
            days = settings.days(zone, entity)
            return None if days is None else now - timedelta(days=days)

        return for_entity

    for target in targets:
        engine_schema = warehouse(target.warehouse_conn_id)
        engine, schema = engine_schema.engine, engine_schema.schema
        protected = wh.protected_run_keys(engine, schema)
        before = (report.objects_removed, report.rows_removed)
        for (lake_conn, bucket, zone, prefix), entities in sorted(target.prefixes.items()):
            days = lake_days(settings, zone, entities)
            if days is None:
                continue
            label = ",".join(sorted(entities))
            count = sweep_prefix(
                lake(lake_conn),
                bucket,
                prefix,
                cutoff=now - timedelta(days=days),
                written_after=written_after,
                protected=protected,
                on_run=_run_logger(log, bucket, prefix),
            )
            _add(report.lake[zone], label, count.objects)
            report.runs_removed += count.runs
            report.runs_kept_recent += count.runs_kept_recent
            report.runs_kept_protected += count.runs_kept_protected
            report.delete_calls += count.batches
        for entity, n in wh.delete_quarantine(engine, schema, cutoff("quarantine"), protected).items():
            _add(report.warehouse["quarantine"], entity, n)
        for entity, n in wh.delete_audit(engine, schema, cutoff("audit"), protected).items():
            _add(report.warehouse["audit"], entity, n)
        for entity, n in wh.delete_soft_deleted(engine, schema, target.entities, cutoff("soft_deleted")).items():
            _add(report.warehouse["soft_deleted"], entity, n)
        objects, rows = report.objects_removed - before[0], report.rows_removed - before[1]
        write_audit_row(engine, schema, run_id, now, objects, rows, report.to_xcom())
    for line in report.lines():
        log(line)
    return report


def write_audit_row(
    engine: Any, schema: str, run_id: str, now: datetime, objects: int, rows: int, detail: dict[str, Any]
) -> None:
    """One ``lumina_audit`` row per retention run and warehouse: rows removed, objects removed, the detail."""
    from sqlalchemy import text

    from lumina_integration.staging.layout import run_key
    from lumina_integration.warehouse.ddl import AUDIT_TABLE, ensure_control_tables
    from lumina_integration.warehouse.dialects import dialect_for

    with engine.begin() as conn:
        d = dialect_for(conn)
        ensure_control_tables(conn, d, schema)
        values = {
            "rk": run_key(PIPELINE_ID, run_id),
            "p": PIPELINE_ID,
            "run_id": run_id,
            "now": now,
            "rows": rows,
            "objects": objects,
            "detail": json.dumps(detail, sort_keys=True),
        }
        # A retried task writes the same run key: its row replaces the first attempt's.
        conn.execute(
            text(
                f"INSERT INTO {d.table(schema, AUDIT_TABLE)} (run_key, pipeline_id, run_id, run_type, entity, "
                "window_start, window_end, rows_staged, rows_inserted, rows_updated, rows_unchanged, rows_deleted, "
                "rows_quarantined, sources_read, status, finished_at, mode, objects_deleted, detail) VALUES "
                "(:rk, :p, :run_id, 'maintenance', '*', NULL, :now, 0, 0, 0, 0, :rows, 0, 0, 'success', :now, "
                "'retention', :objects, :detail) ON CONFLICT (run_key) DO UPDATE SET "
                "rows_deleted = EXCLUDED.rows_deleted, objects_deleted = EXCLUDED.objects_deleted, "
                "detail = EXCLUDED.detail, finished_at = EXCLUDED.finished_at"
            ),
            values,
        )
