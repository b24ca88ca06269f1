"""``lumina settings-import``: airflow_settings.yaml's placeholders take the environment's one setting each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lumina_integration.paths import PROJECT_DIR
from lumina_integration.settings import import_settings, read_settings
from lumina_integration.yaml_models import YamlModelError

SETTINGS = PROJECT_DIR / "airflow_settings.yaml"


def stored_connection(conn_id: str) -> Any:
    """The connection as the metadata database holds it (AIRFLOW_CONN_* variables would shadow a lookup)."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        conn = session.query(Connection).filter(Connection.conn_id == conn_id).one()  # noqa: AIR311 (the DB model)
        session.expunge(conn)
    return conn


def test_a_non_default_s3_port_reaches_the_lake_and_the_landing(
    airflow_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LUMINA_S3_ENDPOINT", raising=False)
    monkeypatch.setenv("LUMINA_S3_PORT", "9655")
    monkeypatch.setenv("LUMINA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("LUMINA_DUCKDB_PATH", raising=False)

    done = import_settings(SETTINGS)  # the project's own file, into the (throwaway) metadata database

    assert "connection lumina_lake (aws)" in done and "connection lumina_landing (aws)" in done
    for conn_id in ("lumina_lake", "lumina_landing"):
        assert json.loads(stored_connection(conn_id).extra)["endpoint_url"] == "http://127.0.0.1:9655", conn_id
    assert stored_connection("lumina_warehouse").host == str(tmp_path / "state" / "warehouse.duckdb")
    sap = json.loads(stored_connection("sap_erp").extra)
    assert sap["sqlalchemy_url"] == f"sqlite:///{tmp_path / 'state' / 'sap_erp.sqlite'}"


def test_the_endpoint_and_the_duckdb_path_each_have_their_own_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUMINA_S3_ENDPOINT", "http://minio.local:9000")
    monkeypatch.setenv("LUMINA_DUCKDB_PATH", "/srv/lumina/dev.duckdb")
    connections = read_settings(SETTINGS)["connections"]
    assert connections["lumina_lake"]["extra"]["endpoint_url"] == "http://minio.local:9000"
    assert connections["lumina_landing"]["extra"]["endpoint_url"] == "http://minio.local:9000"
    assert connections["lumina_warehouse"]["host"] == "/srv/lumina/dev.duckdb"


def test_an_unset_placeholder_is_an_error_naming_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LUMINA_NOT_A_SETTING", raising=False)
    path = tmp_path / "airflow_settings.yaml"
    path.write_text(
        "airflow:\n"
        "  connections:\n"
        "    - conn_id: lake\n"
        "      conn_type: aws\n"
        "      conn_extra:\n"
        "        endpoint_url: ${LUMINA_NOT_A_SETTING}\n"
    )
    with pytest.raises(YamlModelError) as excinfo:
        read_settings(path)
    assert str(excinfo.value) == (
        f"{path}:6: airflow.connections.0.conn_extra.endpoint_url: "
        "${LUMINA_NOT_A_SETTING} is not set in the environment (nor one of the LUMINA_* settings)"
    )
