"""compare.py's record-for-record verdicts, against a real SQLite warehouse table filled from the instance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from lumina_sandbox.servicenow import compare
from lumina_sandbox.servicenow.glide import parse_glide_datetime
from lumina_sandbox.servicenow.server import ServiceNowServer

COLUMNS = ["subject", "customer_source_id", "opened_at", "closed_at", "source_updated_at"]


@pytest.fixture
def warehouse() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE support_case (source_system TEXT, source_id TEXT, _is_deleted BOOLEAN, subject TEXT, "
                "customer_source_id TEXT, opened_at TIMESTAMP, closed_at TIMESTAMP, source_updated_at TIMESTAMP)"
            )
        )
    yield engine
    engine.dispose()


def _load(engine: Engine, records: list[dict[str, str | None]], deleted: bool = False) -> None:
    def stamp(value: str | None) -> object:
        return parse_glide_datetime(value) if value else None

    with engine.begin() as conn:
        for r in records:
            conn.execute(
                text("INSERT INTO support_case VALUES ('servicenow', :id, :deleted, :s, :c, :o, :cl, :u)"),
                {
                    "id": r["sys_id"],
                    "deleted": deleted,
                    "s": r["short_description"],
                    "c": r["company"],
                    "o": stamp(r["opened_at"]),
                    "cl": stamp(r["closed_at"]),
                    "u": stamp(r["sys_updated_on"]),
                },
            )


def test_equal_then_missing_not_deleted_and_differing(server: ServiceNowServer, warehouse: Engine) -> None:
    control = server.control
    fields = ["sys_id", "short_description", "company", "opened_at", "closed_at", "sys_updated_on"]
    incidents = control.truth("incident", fields)
    _load(warehouse, incidents)
    _load(warehouse, control.truth("sc_req_item", fields))  # another pipeline's rows in the same table
    verdict = compare.compare(warehouse, "main", control, "servicenow_incident")
    assert verdict.equal, verdict.describe()
    assert verdict.source_live == verdict.warehouse_live == len(incidents)

    gone, changed = incidents[0]["sys_id"], incidents[1]["sys_id"]
    control.delete("incident", [str(gone)])
    control.update("incident", [{"sys_id": changed, "short_description": "changed at the source"}])
    [new] = control.create("incident", [{"short_description": "not loaded yet"}])
    verdict = compare.compare(warehouse, "main", control, "servicenow_incident")
    assert not verdict.equal
    assert verdict.missing == [new] and verdict.not_deleted == [gone]
    assert [d[0] for d in verdict.differing] == [changed]
    assert verdict.differing[0][2]["subject"] == "changed at the source"
    assert "DIFFERENT" in verdict.describe() and compare.HEADER.startswith("pipeline")
    other = compare.compare(warehouse, "main", control, "servicenow_sc_req_item")
    assert other.equal, other.describe()


def test_exact_below_a_watermark_with_audited_and_unaudited_deletes(
    server: ServiceNowServer, warehouse: Engine
) -> None:
    """The fault tests' verdict: hashes per key below a watermark; an audited delete is a known deletion
    stamped by its sys_audit_delete row, an unaudited one is gone until a reconcile (``ignore_gone``)."""
    from datetime import timedelta

    instance = server.instance
    fields = ["sys_id", "short_description", "company", "opened_at", "closed_at", "sys_updated_on"]
    _load(warehouse, instance.truth("incident", fields))
    _load(warehouse, instance.truth("sc_req_item", fields))  # another pipeline's rows in the same table
    assert compare.exact(warehouse, "main", instance, "servicenow_incident").equal
    watermark = instance.now()
    instance.advance(30)
    first, audited, unaudited = sorted(instance.ids_of("incident"))[:3]
    instance.update("incident", [{"sys_id": first, "short_description": "after the watermark"}])
    below = compare.exact(warehouse, "main", instance, "servicenow_incident", below=watermark)
    assert below.equal, below.describe()  # in flight: stamped after the watermark
    assert compare.exact(warehouse, "main", instance, "servicenow_incident").differing == [first]
    assert compare.exact(warehouse, "main", instance, "servicenow_incident", skip_ids=frozenset({first})).equal
    assert compare.exact(
        warehouse, "main", instance, "servicenow_incident", skip_columns=("subject", "source_updated_at")
    ).equal

    instance.delete("incident", [audited], stamp=watermark - timedelta(seconds=5))  # audited (task table)
    verdict = compare.exact(warehouse, "main", instance, "servicenow_incident", below=watermark)
    assert verdict.differing == [audited] and verdict.warehouse.rows == verdict.source.rows + 1
    with warehouse.begin() as conn:
        conn.execute(text("UPDATE support_case SET _is_deleted = 1 WHERE source_id = :i"), {"i": audited})
    assert compare.exact(warehouse, "main", instance, "servicenow_incident", below=watermark).equal
    # Deleted after the watermark: not yet expected deleted.
    later = sorted(instance.ids_of("incident"))[3]
    instance.delete("incident", [later])
    assert compare.exact(warehouse, "main", instance, "servicenow_incident", below=watermark).equal

    instance.delete("incident", [unaudited], audit=False)  # a table cleaner: no sys_audit_delete row
    assert compare.exact(warehouse, "main", instance, "servicenow_incident", below=watermark).differing == [unaudited]
    assert compare.exact(warehouse, "main", instance, "servicenow_incident", below=watermark, ignore_gone=True).equal
    assert compare.exact(warehouse, "main", instance, "servicenow_sc_req_item").equal
