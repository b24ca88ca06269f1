"""``lumina compliance-report``: what the deployment does with personal data, per pipeline and entity.

For each pipeline: its entity's PII columns with their class and the action the settings give them
(``data_protection().pii.action``), the retention days per zone, the declared region, the lake bucket
and its encryption at rest, and the encryption key ids the warehouse's canonical table holds values
under. Per warehouse connection: the last erasures (``lumina_erasures``).

Key ids are counted by the warehouse itself: one ``GROUP BY split_part(column, ':', 3)`` over the
values starting with ``enc:v1:`` per personal text column (Postgres and DuckDB both have
``split_part``), so no row travels to Python. The whole table is counted (several pipelines may
load one entity); a column the policy does not encrypt is scanned too, as values encrypted before a
policy change would still be there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lumina_integration.canonical.schema import EntitySchema, PiiClass
from lumina_integration.protection.settings import Zone, data_protection, settings_path

ERASURES_TABLE = "lumina_erasures"
LAST_ERASURES = 5
ZONES: tuple[Zone, ...] = ("raw", "canonical", "quarantine", "validation", "audit", "soft_deleted")
CIPHERTEXT_PREFIX = "enc:v1:"


@dataclass
class PiiColumn:
    column: str
    pii_class: str
    action: str


@dataclass
class PipelineReport:
    pipeline: str
    entity: str
    source: str
    region: str | None
    warehouse: str
    bucket: str
    bucket_region: str | None
    bucket_sse: str
    pii_columns: list[PiiColumn]
    retention_days: dict[str, int | None]
    # column -> key id -> values; None when the table could not be read (see key_scan).
    key_ids: dict[str, dict[str, int]] | None = None
    key_scan: str = "ok"


@dataclass
class ComplianceReport:
    settings: str
    pipelines: list[PipelineReport] = field(default_factory=list)
    # warehouse connection -> the last erasures, newest first; a string when there is nothing to list.
    erasures: dict[str, list[dict[str, Any]] | str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _personal_text_columns(schema: EntitySchema) -> list[str]:
    return [c.name for c in schema.columns if c.pii is not PiiClass.NONE and c.type == "string"]


def key_id_counts(conn: Any, schema_name: str, entity: EntitySchema) -> dict[str, dict[str, int]] | None:
    """Per personal text column, the values per encryption key id; None when the table does not exist."""
    from sqlalchemy import text

    from lumina_integration.warehouse.ddl import existing_columns
    from lumina_integration.warehouse.dialects import dialect_for

    present = existing_columns(conn, schema_name, entity.entity)
    if not present:
        return None
    d = dialect_for(conn)
    table = d.table(schema_name, entity.entity)
    columns = [c for c in _personal_text_columns(entity) if c in present]
    counts: dict[str, dict[str, int]] = {c: {} for c in columns}
    if not columns:
        return counts
    # One statement: each column's encrypted values grouped by the key id between the 2nd and 3rd ':'.
    selects = [
        f"SELECT '{name}' AS col, split_part({d.quote(name)}, ':', 3) AS key_id, COUNT(*) AS n FROM {table} "
        f"WHERE {d.quote(name)} LIKE '{CIPHERTEXT_PREFIX}%' GROUP BY split_part({d.quote(name)}, ':', 3)"
        for name in columns
    ]
    for column, key_id, n in conn.execute(text(" UNION ALL ".join(selects))):
        counts[column][key_id] = int(n)
    return counts


def last_erasures(conn: Any, schema_name: str, limit: int = LAST_ERASURES) -> list[dict[str, Any]] | None:
    """The newest erasure records (no subject token beyond a short prefix); None when the table does not exist."""
    from sqlalchemy import text

    from lumina_integration.warehouse.ddl import existing_columns
    from lumina_integration.warehouse.dialects import dialect_for

    present = existing_columns(conn, schema_name, ERASURES_TABLE)
    if not present:
        return None
    d = dialect_for(conn)
    wanted: list[str] = [
        c
        for c in ("erasure_id", "requested_at", "requested_by", "reason", "status", "rows_removed", "parts_rewritten")
        if c in present
    ]
    if "subject_token" in present:
        wanted.append("subject_token")
    order = "requested_at DESC" if "requested_at" in present else "1 DESC"
    rows = conn.execute(
        text(
            f"SELECT {', '.join(d.quote(c) for c in wanted)} FROM {d.table(schema_name, ERASURES_TABLE)} "
            f"ORDER BY {order} LIMIT {int(limit)}"
        )
    ).mappings()
    found = []
    for row in rows:
        item = {k: _plain(v) for k, v in row.items()}
        if item.get("subject_token"):
            # Enough to match a request; the whole token would let anyone holding the key re-identify it.
            item["subject_token"] = str(item["subject_token"])[:12] + "..."
        found.append(item)
    return found


def _plain(value: Any) -> Any:
    import json
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def compliance_report(dags_dir: Path) -> ComplianceReport:
    """The report for every valid pipeline spec under ``dags_dir`` (invalid ones are listed as problems)."""
    from lumina_integration.factory.specs import LoadedSpec, iter_specs
    from lumina_integration.protection.sse import bucket_settings
    from lumina_integration.transforms.mapping import load_mapping

    settings = data_protection()
    report = ComplianceReport(settings=str(settings_path()))
    entities: dict[tuple[str, str], EntitySchema] = {}
    for item in iter_specs(dags_dir):
        if not isinstance(item, LoadedSpec):
            report.problems.append(str(item))
            continue
        spec = item.spec
        try:
            entity = load_mapping(spec.mapping).entity_schema()
        except LookupError as exc:
            report.problems.append(f"{spec.dag_id}: {exc}")
            continue
        entities[(spec.load.warehouse_conn_id, entity.entity)] = entity
        bucket = bucket_settings(spec.staging.bucket)
        report.pipelines.append(
            PipelineReport(
                pipeline=spec.dag_id,
                entity=entity.entity,
                source=f"{spec.source.type} {spec.source.object}",
                region=spec.region,
                warehouse=spec.load.warehouse_conn_id,
                bucket=spec.staging.bucket,
                bucket_region=settings.buckets[spec.staging.bucket].region
                if spec.staging.bucket in settings.buckets
                else None,
                bucket_sse=bucket.sse + (f" ({bucket.kms_key_id})" if bucket.kms_key_id else ""),
                pii_columns=[
                    PiiColumn(c.name, c.pii.value, settings.pii.action(entity.entity, c))
                    for c in entity.columns
                    if c.pii is not PiiClass.NONE
                ],
                retention_days={zone: settings.retention.days(zone, entity.entity) for zone in ZONES},
            )
        )
    _scan_warehouses(report, entities)
    return report


def _scan_warehouses(report: ComplianceReport, entities: dict[tuple[str, str], EntitySchema]) -> None:
    from lumina_integration.warehouse.connection import warehouse_target

    scans: dict[tuple[str, str], dict[str, dict[str, int]] | str | None] = {}
    for conn_id in sorted({conn_id for conn_id, _ in entities}):
        try:
            target = warehouse_target(conn_id)
            with target.engine.connect() as conn:
                for (wh, name), entity in entities.items():
                    if wh == conn_id:
                        scans[(wh, name)] = key_id_counts(conn, target.schema, entity)
                erasures = last_erasures(conn, target.schema)
        except Exception as exc:  # an unreachable warehouse is reported, the rest of the report stands
            reason = f"warehouse {conn_id!r} unavailable: {type(exc).__name__}"
            report.problems.append(reason)
            for key in entities:
                if key[0] == conn_id:
                    scans[key] = reason
            report.erasures[conn_id] = reason
            continue
        report.erasures[conn_id] = erasures if erasures else "none recorded"
    for pipeline in report.pipelines:
        scan = scans.get((pipeline.warehouse, pipeline.entity))
        if isinstance(scan, str):
            pipeline.key_scan = scan
        elif scan is None:
            pipeline.key_scan = "table not loaded yet"
        else:
            pipeline.key_ids = scan


def render_text(report: ComplianceReport) -> str:
    lines = [f"Compliance report (settings {report.settings})", ""]
    for p in report.pipelines:
        lines.append(f"{p.pipeline}  ->  {p.entity}   ({p.source})")
        lines.append(
            f"  region {p.region or 'not declared'}; warehouse {p.warehouse}; lake s3://{p.bucket}/ "
            f"in {p.bucket_region or 'undeclared region'}, SSE {p.bucket_sse}"
        )
        retention = ", ".join(f"{z} {d if d is not None else 'forever'}" for z, d in p.retention_days.items())
        lines.append(f"  retention (days): {retention}")
        if p.pii_columns:
            lines.append(
                "  PII columns: " + ", ".join(f"{c.column} ({c.pii_class}: {c.action})" for c in p.pii_columns)
            )
        else:
            lines.append("  PII columns: none")
        if p.key_ids is None:
            lines.append(f"  encryption key ids: {p.key_scan}")
        else:
            used = {col: ids for col, ids in p.key_ids.items() if ids}
            shown = "; ".join(
                f"{col}: " + ", ".join(f"{k} {n:,}" for k, n in sorted(ids.items())) for col, ids in used.items()
            )
            lines.append(f"  encryption key ids (values in {p.entity}): {shown or 'no encrypted values'}")
        lines.append("")
    for conn_id, erasures in report.erasures.items():
        if isinstance(erasures, str):
            lines.append(f"last erasures in {conn_id}: {erasures}")
            continue
        lines.append(f"last erasures in {conn_id} (newest first):")
        for e in erasures:
            lines.append("  " + "; ".join(f"{k} {v}" for k, v in e.items() if v is not None))
    if report.problems:
        lines += ["", "problems:", *(f"  {p}" for p in report.problems)]
    return "\n".join(lines)
