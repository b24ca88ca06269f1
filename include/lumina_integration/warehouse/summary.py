"""A plain-text report of what the warehouse holds: tables, quarantine, watermarks, last runs."""

from __future__ import annotations

from sqlalchemy import text

from lumina_integration.canonical.registry import load_entity, schema_files
from lumina_integration.canonical.schema import DELETED_COLUMN
from lumina_integration.warehouse.connection import warehouse_target
from lumina_integration.warehouse.ddl import AUDIT_TABLE, QUARANTINE_TABLE, STATE_TABLE, existing_columns
from lumina_integration.warehouse.dialects import dialect_for


def warehouse_summary(conn_id: str) -> str:
    target = warehouse_target(conn_id)
    lines = [
        f"Warehouse {target.engine.url.render_as_string(hide_password=True)} (schema {target.schema})",
        "",
    ]
    with target.engine.connect() as conn:
        d = dialect_for(conn)
        lines.append(f"{'canonical table':<22}{'rows':>10}{'live':>10}{'deleted':>10}")
        for entity, _ in sorted({(e, 0) for e, _ in schema_files()}):
            schema = load_entity(entity)
            if not existing_columns(conn, target.schema, schema.entity):
                lines.append(f"{schema.entity:<22}{'(not loaded yet)':>30}")
                continue
            total, deleted = conn.execute(
                text(
                    f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {d.quote(DELETED_COLUMN)} THEN 1 ELSE 0 END), 0) "
                    f"FROM {d.table(target.schema, schema.entity)}"
                )
            ).one()
            lines.append(f"{schema.entity:<22}{total:>10}{total - deleted:>10}{deleted:>10}")
        if not existing_columns(conn, target.schema, STATE_TABLE):
            return "\n".join([*lines, "", "No pipeline has loaded yet."])
        lines += ["", f"{'pipeline':<30}{'watermark':<28}{'quarantined':>12}"]
        quarantined: dict[str, int] = dict(
            conn.execute(
                text(f"SELECT pipeline_id, COUNT(*) FROM {d.table(target.schema, QUARANTINE_TABLE)} GROUP BY 1")
            ).all()
        )
        for pipeline_id, watermark in conn.execute(
            text(f"SELECT pipeline_id, watermark FROM {d.table(target.schema, STATE_TABLE)} ORDER BY 1")
        ):
            shown = watermark.isoformat(timespec="seconds") if watermark else "-"
            lines.append(f"{pipeline_id:<30}{shown:<28}{quarantined.get(pipeline_id, 0):>12}")
        lines += [
            "",
            "last runs (newest first):",
            f"{'pipeline':<30}{'run type':<10}{'staged':>8}{'new':>7}{'upd':>7}{'same':>7}{'del':>6}{'kept':>6}"
            f"{'quar':>6}",
            "(kept: staged rows the warehouse already held newer, superseded in the run, or deletes with nothing",
            " to delete; staged = new + upd + same + del + kept; quar were never staged)",
        ]
        for row in conn.execute(
            text(
                "SELECT pipeline_id, run_type, rows_staged, rows_inserted, rows_updated, rows_unchanged, "
                "rows_deleted, COALESCE(rows_superseded, 0) + COALESCE(rows_guard_refused, 0) "
                "+ COALESCE(tombstones_without_row, 0) + COALESCE(tombstones_refused, 0) "
                "+ COALESCE(tombstones_already_deleted, 0), rows_quarantined "
                f"FROM {d.table(target.schema, AUDIT_TABLE)} "
                "ORDER BY finished_at DESC LIMIT 12"
            )
        ):
            lines.append(
                f"{row[0]:<30}{row[1]:<10}"
                + "".join(f"{v:>{w}}" for v, w in zip(row[2:], (8, 7, 7, 7, 6, 6, 6), strict=True))
            )
    return "\n".join(lines)
