"""`lumina settings-import` creates the PII keys once; `lumina pii new-key` / `retire-key` change them in place."""

from __future__ import annotations

import pytest

from lumina_integration.cli import main
from lumina_integration.protection.keys import parse_keys
from lumina_integration.settings import ensure_pii_keys, stored_connection_password

CONN = "lumina_pii_keys"


@pytest.fixture
def no_stored_keys(airflow_db: None) -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == CONN).delete()  # noqa: AIR311 (the DB model)


def test_settings_import_creates_fresh_keys_once_and_keeps_them(no_stored_keys: None) -> None:
    assert stored_connection_password(CONN) is None
    assert ensure_pii_keys() == [f"connection {CONN} (generic, fresh PII keys)"]
    first = stored_connection_password(CONN)
    keys = parse_keys(first)
    assert keys.active_key_id == "k1" and len(keys.tokenize_key) == 32
    assert ensure_pii_keys() == [f"connection {CONN} kept (PII keys)"]
    assert stored_connection_password(CONN) == first


def test_new_key_becomes_active_and_retire_removes_an_old_one(
    no_stored_keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_pii_keys()
    before = parse_keys(stored_connection_password(CONN))
    assert main(["pii", "new-key"]) == 0
    assert capsys.readouterr().out == "encryption keys: k1, k2; active: k2\n"
    after = parse_keys(stored_connection_password(CONN))
    assert after.tokenize_key == before.tokenize_key and after.encryption_key("k1") == before.encryption_key("k1")
    assert main(["pii", "retire-key", "k2"]) == 1
    assert "is the active key" in capsys.readouterr().err
    assert main(["pii", "retire-key", "k1"]) == 0
    assert parse_keys(stored_connection_password(CONN)).key_ids == ["k2"]


def test_new_key_without_a_stored_connection_names_the_variable(
    no_stored_keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pii", "new-key"]) == 1
    err = capsys.readouterr().err
    assert "holds no connection 'lumina_pii_keys' (it comes from $AIRFLOW_CONN_LUMINA_PII_KEYS" in err
