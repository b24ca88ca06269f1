"""Key rotation on the real warehouses: every encrypted value moves to the new key, one transaction per table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from lumina_integration.canonical.registry import load_entity
from lumina_integration.protection.crypto import DecryptError, decrypt_text, encrypt_text, key_id_of, tokenize_text
from lumina_integration.protection.keys import generate_keys
from lumina_integration.protection.rotation import remaining, rotate
from lumina_integration.warehouse.ddl import QUARANTINE_TABLE, ensure_control_tables, ensure_entity_table
from lumina_integration.warehouse.dialects import dialect_for

OLD = generate_keys()
KEYS = OLD.with_new_key()  # k1 and k2, k2 active
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _phone(i: int) -> str:
    return f"+1 555 {i:04d}"


def _fill(engine: Any, schema: str, customers: int) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        d = dialect_for(conn)
        ensure_control_tables(conn, d, schema)
        for entity in ("customer", "person"):
            ensure_entity_table(conn, d, schema, load_entity(entity))
        rows = [
            {
                "sid": f"C{i:04d}",
                "phone": None if i % 7 == 0 else encrypt_text(OLD, "customer", "phone", _phone(i)),
                "email": tokenize_text(OLD.tokenize_key, f"c{i}@example.com"),
                "now": NOW,
            }
            for i in range(customers)
        ]
        conn.execute(
            text(
                f"INSERT INTO {d.table(schema, 'customer')} (source_system, source_id, name, phone, email, status, "
                "source_updated_at, _is_deleted, _loaded_at, _run_key) "
                "VALUES ('crm', :sid, 'Acme', :phone, :email, 'active', :now, FALSE, :now, 'r1')"
            ),
            rows,
        )
        record = {"Phone": encrypt_text(OLD, "customer", "phone", "+1 555 9999"), "AccountId": "Q1"}
        conn.execute(
            text(
                f"INSERT INTO {d.table(schema, QUARANTINE_TABLE)} (pipeline_id, run_key, entity, stage, reason, "
                "record, quarantined_at) VALUES ('p', 'r1', 'customer', 'transform', 'x', :record, :now)"
            ),
            [{"record": json.dumps(record, sort_keys=True), "now": NOW}] * 2,
        )


def test_rotation_moves_every_value_to_the_new_key(warehouse: tuple[Any, str]) -> None:
    engine, schema = warehouse
    _fill(engine, schema, 23)
    assert remaining(engine, schema, "k2") == {"customer": 19, "person": 0}

    report = rotate(engine, schema, KEYS, "k2", batch_rows=4)

    assert report.rows == {"customer": 19, "person": 0, QUARANTINE_TABLE: 2}
    assert report.values == {"customer": 19, "person": 0, QUARANTINE_TABLE: 1}  # one distinct record, two rows
    assert remaining(engine, schema, "k2") == {"customer": 0, "person": 0}
    with engine.connect() as conn:
        d = dialect_for(conn)
        stored = conn.execute(text(f"SELECT source_id, phone, email FROM {d.table(schema, 'customer')}")).all()
        records = conn.execute(text(f"SELECT record FROM {d.table(schema, QUARANTINE_TABLE)}")).scalars().all()
    for source_id, phone, email in stored:
        i = int(source_id[1:])
        assert email == tokenize_text(OLD.tokenize_key, f"c{i}@example.com")  # tokens do not rotate
        if i % 7 == 0:
            assert phone is None
        else:
            assert key_id_of(phone) == "k2" and decrypt_text(KEYS, "customer", "phone", phone) == _phone(i)
            assert decrypt_text(KEYS.without_key("k1"), "customer", "phone", phone) == _phone(i)  # k1 retired
    for record in records:
        phone = json.loads(record)["Phone"]
        assert key_id_of(phone) == "k2" and decrypt_text(KEYS, "customer", "phone", phone) == "+1 555 9999"
    # Again: nothing left to move.
    assert rotate(engine, schema, KEYS, "k2").rows == {"customer": 0, "person": 0, QUARANTINE_TABLE: 0}


def test_a_failure_leaves_the_table_wholly_on_the_old_key(pg_schema: tuple[Any, str]) -> None:
    engine, schema = pg_schema
    _fill(engine, schema, 12)
    tampered = encrypt_text(OLD, "contact", "phone", "copied from another column")
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE \"{schema}\".customer SET phone = :p WHERE source_id = 'C0011'"), {"p": tampered})
    with pytest.raises(DecryptError, match=r"does not authenticate for customer\.phone"):
        rotate(engine, schema, KEYS, "k2", batch_rows=3)  # fails in the fourth batch, after three were rewritten
    with engine.connect() as conn:
        phones = conn.execute(text(f'SELECT phone FROM "{schema}".customer WHERE phone IS NOT NULL')).scalars().all()
    assert {key_id_of(p) for p in phones} == {"k1"}


def test_an_unknown_target_key_touches_nothing(pg_schema: tuple[Any, str]) -> None:
    engine, schema = pg_schema
    _fill(engine, schema, 3)
    with pytest.raises(ValueError, match="no encryption key 'k9'"):
        rotate(engine, schema, KEYS, "k9")
    assert remaining(engine, schema, "k1") == {"customer": 0, "person": 0}


def test_the_cli_rotates_the_warehouse_of_a_connection(
    pg_schema: tuple[Any, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lumina_integration.cli import main
    from lumina_integration.protection.keys import keys_connection

    engine, schema = pg_schema
    _fill(engine, schema, 5)
    conn_id = f"wh_{schema}"
    monkeypatch.setenv("AIRFLOW_CONN_LUMINA_PII_KEYS", json.dumps(keys_connection(KEYS)))
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": engine.url.host,
                "port": engine.url.port,
                "login": engine.url.username,
                "schema": engine.url.database,
                "extra": {"warehouse_schema": schema},
            }
        ),
    )
    assert main(["pii", "rotate", "--to", "k2", "--warehouse", conn_id]) == 0
    out = capsys.readouterr().out
    assert "customer: 4 rows, 4 values re-encrypted" in out and "every encrypted value is under k2" in out
    assert remaining(engine, schema, "k2") == {"customer": 0, "person": 0}
    assert main(["pii", "rotate", "--to", "k7", "--warehouse", conn_id]) == 1
    assert "no encryption key 'k7'" in capsys.readouterr().err
