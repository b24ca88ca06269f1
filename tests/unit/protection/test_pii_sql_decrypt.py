"""The Postgres decryption function (pgcrypto, no tag check) against values the Python side encrypted."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from lumina_integration.protection import sql_decrypt
from lumina_integration.protection.crypto import DecryptError, decrypt_text, encrypt_text
from lumina_integration.protection.keys import generate_keys

KEYS = generate_keys().with_new_key()
VALUES = ["", "+1 555 0100", "exactly sixteen!", "a value longer than two AES blocks of sixteen bytes", "Zoë 电话 ☎"]


@pytest.fixture
def pg(pg_schema: tuple[Any, str]) -> tuple[Any, str]:
    engine, schema = pg_schema
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            with conn.begin_nested():
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS pgcrypto"))
        except Exception:  # another session created it at the same moment
            pass
        sql_decrypt.install(conn, schema)
    return engine, schema


def test_sql_decrypts_what_python_encrypted_with_the_key_passed_per_call(pg: tuple[Any, str]) -> None:
    engine, schema = pg
    sealed = [encrypt_text(KEYS, "customer", "phone", v, key_id=k) for v in VALUES for k in ("k1", "k2")]
    with engine.connect() as conn:
        for value, clear in zip(sealed, [v for v in VALUES for _ in (1, 2)], strict=True):
            key_id = conn.execute(text(f'SELECT "{schema}".lumina_pii_key_id(:v)'), {"v": value}).scalar_one()
            key = sql_decrypt.session_key(KEYS, key_id)
            found = conn.execute(
                text(f"SELECT \"{schema}\".lumina_pii_decrypt(:v, decode(:key, 'base64'))"), {"v": value, "key": key}
            ).scalar_one()
            assert found == clear
        assert conn.execute(text(f"SELECT \"{schema}\".lumina_pii_decrypt(NULL, '\\x00'::bytea)")).scalar_one() is None


def test_sql_does_not_check_the_tag_python_does(pg: tuple[Any, str]) -> None:
    engine, schema = pg
    other_column = encrypt_text(KEYS, "contact", "phone", "+1 555 0100")
    key = sql_decrypt.session_key(KEYS, "k2")
    with engine.connect() as conn:
        found = conn.execute(
            text(f"SELECT \"{schema}\".lumina_pii_decrypt(:v, decode(:key, 'base64'))"), {"v": other_column, "key": key}
        ).scalar_one()
    assert found == "+1 555 0100"  # the AAD (contact.phone) is not checked in SQL ...
    with pytest.raises(DecryptError, match="does not authenticate"):
        decrypt_text(KEYS, "customer", "phone", other_column)  # ... the Python helper refuses it


def test_sql_refuses_what_is_not_a_ciphertext_and_short_keys(pg: tuple[Any, str]) -> None:
    engine, schema = pg
    with engine.connect() as conn, pytest.raises(Exception, match="not a lumina ciphertext"):
        conn.execute(text(f"SELECT \"{schema}\".lumina_pii_decrypt('+1 555', '\\x00'::bytea)")).scalar_one()
    with engine.connect() as conn, pytest.raises(Exception, match="the key must be 32 bytes"):
        value = encrypt_text(KEYS, "customer", "phone", "x")
        conn.execute(text(f"SELECT \"{schema}\".lumina_pii_decrypt(:v, '\\x00'::bytea)"), {"v": value}).scalar_one()


def test_the_cli_installs_the_functions_in_the_warehouse_schema(
    pg: tuple[Any, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from lumina_integration.cli import main

    engine, schema = pg
    with engine.begin() as conn:
        conn.execute(text(f'DROP FUNCTION "{schema}".lumina_pii_decrypt(text, bytea)'))
    conn_id = f"wh_sql_{schema}"
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
    assert main(["pii", "install-sql", "--warehouse", conn_id]) == 0
    assert f"created {schema}.lumina_pii_decrypt(value, key)" in capsys.readouterr().out
    value = encrypt_text(KEYS, "customer", "phone", "+1 555 0100")
    with engine.connect() as conn:
        found = conn.execute(
            text(f"SELECT \"{schema}\".lumina_pii_decrypt(:v, decode(:key, 'base64'))"),
            {"v": value, "key": sql_decrypt.session_key(KEYS, "k2")},
        ).scalar_one()
    assert found == "+1 555 0100"
