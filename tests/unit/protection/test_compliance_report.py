"""``lumina compliance-report`` against the real Postgres and DuckDB: policies, retention, region, key ids, erasures."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from lumina_integration.canonical.registry import load_entity
from lumina_integration.cli import main
from lumina_integration.protection.compliance import compliance_report, render_text
from lumina_integration.protection.crypto import encrypt_text
from lumina_integration.protection.keys import load_keys
from lumina_integration.warehouse.connection import warehouse_target
from lumina_integration.warehouse.ddl import ensure_entity_table
from lumina_integration.warehouse.dialects import dialect_for

CONN_ID = "lumina_compliance_wh"
SETTINGS = f"""\
pii:
  classes: {{none: keep, indirect: keep, direct: tokenize, sensitive: encrypt}}
  entities:
    customer: {{phone: encrypt}}
retention:
  zones: {{raw: 30, canonical: 90, quarantine: 60, validation: 90, audit: 730, soft_deleted: null}}
  entities:
    customer: {{raw: 7}}
buckets:
  lake-eu: {{region: eu-central-1, sse: "aws:kms", kms_key_id: alias/lumina-eu}}
warehouses:
  {CONN_ID}: {{region: eu-central-1}}
"""
SPEC = f"""\
owner: crm
schedule: "0 * * * *"
start_date: 2026-01-01
source: {{type: file_drop, conn_id: landing, object: "s3://landing/accounts/", options: {{pattern: "*.csv"}}}}
mapping: crm_accounts_customer
region: eu-central-1
staging: {{bucket: lake-eu}}
load: {{warehouse_conn_id: {CONN_ID}}}
"""
ERASURES_DDL = """CREATE TABLE {t} (erasure_id TEXT, requested_at TIMESTAMP, requested_by TEXT, subject_token TEXT,
  reason TEXT, rows_removed TEXT, parts_rewritten INTEGER, status TEXT)"""


@pytest.fixture
def deployment(
    warehouse: tuple[Any, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Any, str]]:
    """(dags dir, engine, schema): one pipeline staging to an EU lake and loading into the test warehouse."""
    engine, schema = warehouse
    (tmp_path / "data_protection.yaml").write_text(SETTINGS)
    monkeypatch.setenv("LUMINA_DATA_PROTECTION", str(tmp_path / "data_protection.yaml"))
    dags = tmp_path / "dags"
    (dags / "crm").mkdir(parents=True)
    (dags / "crm" / "eu_accounts.dag.yaml").write_text(SPEC)
    if engine.url.drivername.startswith("duckdb"):
        conn = {"conn_type": "duckdb", "host": str(engine.url.database)}
    else:
        conn = {
            "conn_type": "postgres",
            "host": "127.0.0.1",
            "port": 5432,
            "login": "postgres",
            "schema": "test",
            "extra": {"warehouse_schema": schema},
        }
        with engine.begin() as c:
            c.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))
    warehouse_target.cache_clear()
    engine.dispose()  # DuckDB: one writer per file; the report opens its own engine
    yield dags, engine, schema
    warehouse_target.cache_clear()


def load_customers(engine: Any, schema: str) -> None:
    """Five customers: phones under key k1 (3, real ciphertexts) and a retired k0 (2), one without a phone."""
    keys = load_keys()
    entity = load_entity("customer")
    phones = [encrypt_text(keys, "customer", "phone", f"+49 30 555{i}", key_id=keys.active_key_id) for i in range(3)]
    phones += ["enc:v1:k0:" + "A" * 40, "enc:v1:k0:" + "B" * 40, None]
    with engine.begin() as conn:
        d = dialect_for(conn)
        ensure_entity_table(conn, d, schema, entity)
        for i, phone in enumerate(phones):
            conn.execute(
                text(
                    f"INSERT INTO {d.table(schema, 'customer')} (source_system, source_id, name, email, phone, status, "
                    "source_updated_at, _loaded_at, _run_key) VALUES ('crm_export', :id, 'Co', :email, :phone, "
                    "'active', :now, :now, 'r1')"
                ),
                {"id": f"A{i}", "email": uuid.uuid4().hex * 2, "phone": phone, "now": datetime(2026, 1, 1, tzinfo=UTC)},
            )
    engine.dispose()


def test_report_lists_policies_retention_region_and_no_erasures_before_any_run(
    deployment: tuple[Path, Any, str],
) -> None:
    dags, _, _ = deployment
    report = compliance_report(dags)
    [p] = report.pipelines
    assert (p.pipeline, p.entity, p.region, p.bucket_region) == (
        "eu_accounts",
        "customer",
        "eu-central-1",
        "eu-central-1",
    )
    assert p.bucket_sse == "aws:kms (alias/lumina-eu)"
    assert [(c.column, c.pii_class, c.action) for c in p.pii_columns] == [
        ("email", "direct", "tokenize"),
        ("phone", "direct", "encrypt"),
    ]
    assert p.retention_days == {
        "raw": 7,
        "canonical": 90,
        "quarantine": 60,
        "validation": 90,
        "audit": 730,
        "soft_deleted": None,
    }
    assert (p.key_ids, p.key_scan) == (None, "table not loaded yet")
    assert report.erasures == {CONN_ID: "none recorded"}
    assert report.problems == []
    shown = render_text(report)
    assert "PII columns: email (direct: tokenize), phone (direct: encrypt)" in shown
    assert f"last erasures in {CONN_ID}: none recorded" in shown
    assert (
        "retention (days): raw 7, canonical 90, quarantine 60, validation 90, audit 730, soft_deleted forever" in shown
    )


def test_key_ids_are_counted_in_the_warehouse_and_erasures_listed_newest_first(
    deployment: tuple[Path, Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    dags, engine, schema = deployment
    load_customers(engine, schema)
    active = load_keys().active_key_id
    with engine.begin() as conn:
        table = dialect_for(conn).table(schema, "lumina_erasures")
        conn.execute(text(ERASURES_DDL.format(t=table)))
        for n, (day, status) in enumerate([(2, "done"), (5, "done"), (3, "failed")]):
            conn.execute(
                text(
                    f"INSERT INTO {table} VALUES (:id, :at, 'dpo@example.org', :token, 'GDPR art. 17', "
                    ":removed, :parts, :status)"
                ),
                {
                    "id": f"e{n}",
                    "at": datetime(2026, 3, day),
                    "token": "f" * 64,
                    "removed": json.dumps({"customer": n + 1}),
                    "parts": n,
                    "status": status,
                },
            )
    engine.dispose()

    assert main(["compliance-report", "--json", "--dags-dir", str(dags)]) == 0
    report = json.loads(capsys.readouterr().out)
    [p] = report["pipelines"]
    assert p["key_ids"] == {"email": {}, "phone": {active: 3, "k0": 2}}
    erasures = report["erasures"][CONN_ID]
    assert [e["erasure_id"] for e in erasures] == ["e1", "e2", "e0"]
    assert erasures[0]["rows_removed"] == {"customer": 2} and erasures[0]["status"] == "done"
    assert erasures[0]["subject_token"] == "f" * 12 + "...", "never the whole token"

    assert main(["compliance-report", "--dags-dir", str(dags)]) == 0
    shown = capsys.readouterr().out
    assert f"encryption key ids (values in customer): phone: k0 2, {active} 3" in shown
    assert "erasure_id e1; requested_at 2026-03-05T00:00:00" in shown


def test_an_unreachable_warehouse_is_a_problem_not_a_crash(
    deployment: tuple[Path, Any, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dags, _, _ = deployment
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        json.dumps({"conn_type": "postgres", "host": "127.0.0.1", "port": 1, "login": "postgres", "schema": "test"}),
    )
    warehouse_target.cache_clear()
    assert main(["compliance-report", "--dags-dir", str(dags)]) == 1
    shown = capsys.readouterr().out
    assert f"encryption key ids: warehouse '{CONN_ID}' unavailable: OperationalError" in shown
    assert "PII columns: email (direct: tokenize)" in shown, "the policy part of the report stands"
