"""The hdbcli boundary, against a DB-API fake: connect arguments (TLS, tenant, auth modes),
autocommit off and snapshot isolation, every read rolled back and closed, errors that must not
be retried (a failed login would lock the SAP user) and those that may."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fake_dbapi import Error as fake_error
from fake_dbapi import FakeDatabase
from sqlalchemy import Column, MetaData, Numeric, Table, Unicode

from lumina_integration.hooks.base import StopRun
from lumina_integration.hooks.hana import hook as hook_module
from lumina_integration.hooks.hana.errors import HanaAuthenticationError, HanaConfigurationError
from lumina_integration.hooks.hana.hook import HanaHook
from lumina_integration.hooks.hana.settings import settings_from_connection
from lumina_integration.hooks.hana.sql import ReadPlan
from lumina_integration.window import Window

PEM = "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n"


def _conn(monkeypatch: pytest.MonkeyPatch, **fields: Any) -> str:
    conn_id = f"hana_{abs(hash(json.dumps(fields, sort_keys=True))) % 10_000}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "hana", **fields}))
    return conn_id


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch) -> FakeDatabase:
    fake = FakeDatabase()
    monkeypatch.setattr(hook_module, "_dbapi", lambda: fake)
    return fake


def _hook(monkeypatch: pytest.MonkeyPatch, **extra: Any) -> HanaHook:
    conn_id = _conn(
        monkeypatch,
        host="hana.example.com",
        schema="S4P",
        login="LUMINA_READER",
        password="s3cret-pass",
        extra={"sap_schema": "SAPHANADB", "client": "100", **extra},
    )
    return HanaHook(conn_id)


class _Conn:
    def __init__(self, **kw: Any) -> None:
        self.conn_id = "sap"
        self.host, self.port, self.schema = kw.get("host"), kw.get("port"), kw.get("schema")
        self.login, self.password = kw.get("login"), kw.get("password")
        self.extra_dejson = kw.get("extra", {})


@pytest.mark.parametrize(
    ("conn", "expected"),
    [
        pytest.param(
            _Conn(host="h", schema="S4P", login="u", password="p"),
            {"address": "h", "port": 30013, "databaseName": "S4P", "user": "u", "password": "p", "encrypt": "true",
             "sslValidateCertificate": "true", "autocommit": False},
            id="tenant-password-tls-validated-by-default",
        ),
        pytest.param(
            _Conn(host="h", port=30041, extra={"user_key": "LUMINA"}),
            {"port": 30041, "userkey": "LUMINA"},
            id="hdbuserstore-key",
        ),
        pytest.param(
            _Conn(host="h", extra={"certificate": PEM, "trust_store": PEM,
                                   "hostname_in_certificate": "*.hana.ondemand.com"}),
            {"authenticationX509": PEM, "sslTrustStore": PEM, "sslHostNameInCertificate": "*.hana.ondemand.com",
             "port": 30015},
            id="x509-client-certificate-and-private-ca",
        ),
        pytest.param(
            _Conn(host="h", login="u", password="p", extra={"encrypt": "false", "sap_schema": "SAPHANADB"}),
            {"encrypt": "false", "currentSchema": "SAPHANADB"},
            id="tls-off-explicitly",
        ),
    ],
)  # fmt: skip
def test_connect_arguments(conn: _Conn, expected: dict[str, Any]) -> None:
    kwargs = settings_from_connection(conn).connect_kwargs()
    assert {k: kwargs.get(k) for k in expected} == expected
    if "userkey" in expected or "authenticationX509" in expected:
        assert "password" not in kwargs


@pytest.mark.parametrize(
    ("conn", "message"),
    [
        pytest.param(_Conn(login="u", password="p"), "no host", id="no-host"),
        pytest.param(_Conn(host="h", login="u"), "give login and password", id="no-credentials"),
        pytest.param(
            _Conn(host="h", login="u", password="p", extra={"isolation_level": "READ COMMITTED"}),
            "gives no snapshot",
            id="statement-level-isolation-refused",
        ),
    ],
)
def test_bad_connections_are_explained(conn: _Conn, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings_from_connection(conn)


def test_sandbox_mode_never_needs_hdbcli() -> None:
    settings = settings_from_connection(_Conn(extra={"sqlalchemy_url": "duckdb:///x.duckdb", "client": 100}))
    assert (settings.mode, settings.client) == ("sqlalchemy", "100")
    with pytest.raises(ValueError, match="sandbox"):
        settings.connect_kwargs()


def _rolled_back_and_closed(db: FakeDatabase) -> None:
    """Reads never commit; after the last read the transaction is rolled back and the connection
    closed (SQLAlchemy then resets the isolation level: harmless, the session is ending)."""
    assert "commit" not in db.events
    assert db.events[-1] == "close"
    last_select = max(i for i, (s, _) in enumerate(db.statements) if s.startswith("SELECT"))
    assert all(s.startswith("SET TRANSACTION") for s, _ in db.statements[last_select + 1 :])
    assert "rollback" in db.events[db.events.index("autocommit=False", 2) :]


def test_clock_read_in_a_snapshot_then_rolled_back_and_closed(
    monkeypatch: pytest.MonkeyPatch, db: FakeDatabase
) -> None:
    hook = _hook(monkeypatch)
    assert hook.server_now() == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert db.connects[0]["autocommit"] is False and db.connects[0]["encrypt"] == "true"
    sql = [s for s, _ in db.statements]
    assert "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ" in sql
    assert any("CURRENT_UTCTIMESTAMP" in s and "DUMMY" in s for s in sql)
    assert "autocommit=True" not in db.events
    _rolled_back_and_closed(db)


def test_serializable_snapshot_when_configured(monkeypatch: pytest.MonkeyPatch, db: FakeDatabase) -> None:
    _hook(monkeypatch, isolation_level="serializable").server_now()
    assert "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE" in [s for s, _ in db.statements]


def _plan() -> ReadPlan:
    md = MetaData(schema="SAPHANADB")
    vbap = Table(
        "VBAP",
        md,
        Column("MANDT", Unicode(3), primary_key=True),
        Column("VBELN", Unicode(10), primary_key=True),
        Column("POSNR", Unicode(6), primary_key=True),
        Column("ERDAT", Unicode(8)),
        Column("ERZET", Unicode(6)),
        Column("NETWR", Numeric(15, 2)),
    )
    return ReadPlan(vbap, ["MANDT", "VBELN", "POSNR", "ERDAT", "ERZET", "NETWR"], ["VBELN", "POSNR"], "MANDT",
                    [("ERDAT", "ERZET")])  # fmt: skip


def test_read_streams_fetchmany_batches_with_bound_values(monkeypatch: pytest.MonkeyPatch, db: FakeDatabase) -> None:
    rows = [
        ("100", "0000004711", f"{i * 10:06d}", "20261119", "101500", Decimal("12.50"), "20261119101500")
        for i in range(1, 6)
    ]
    db.answers.append((r'FROM "SAPHANADB"\."VBAP"', ["MANDT", "VBELN", "POSNR", "ERDAT", "ERZET", "NETWR", "C"], rows))
    hook = _hook(monkeypatch)
    monkeypatch.setattr(HanaHook, "plan", lambda self, conn, obj, opts: _plan())
    window = Window(datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC))
    options = {"changed": [{"date": "ERDAT", "time": "ERZET"}], "batch_rows": 10, "page_rows": 100}
    batches = list(hook.read("VBAP", window, options))
    assert [b.num_rows for b in batches] == [5]
    assert batches[0].column("_lumina_id").to_pylist()[0] == "0000004711/000010"
    select_sql, params = next((s, p) for s, p in db.statements if '"SAPHANADB"."VBAP"' in s)
    assert "?" in select_sql and "'100'" not in select_sql and "20261119" not in select_sql
    assert "100" in params and "20261119000000" in params and "20261120000000" in params
    _rolled_back_and_closed(db)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param(10, HanaAuthenticationError, id="authentication-failed-not-retried"),
        pytest.param(416, HanaAuthenticationError, id="user-locked-not-retried"),
        pytest.param(258, HanaConfigurationError, id="insufficient-privilege-not-retried"),
    ],
)
def test_errors_that_must_not_be_retried(
    monkeypatch: pytest.MonkeyPatch, db: FakeDatabase, code: int, expected: type[StopRun]
) -> None:
    db.refuse = fake_error(code, "refused")
    with pytest.raises(expected) as info:
        _hook(monkeypatch).server_now()
    assert "s3cret-pass" not in str(info.value)
    assert len(db.connects) == 1


def test_connection_drop_is_left_to_airflow_retries(monkeypatch: pytest.MonkeyPatch, db: FakeDatabase) -> None:
    db.refuse = fake_error(-10709, "Connection failed (RTE:[89006] System call 'connect' failed)")
    with pytest.raises(Exception) as info:
        _hook(monkeypatch).server_now()
    assert not isinstance(info.value, StopRun)


def test_test_connection_reports_instead_of_raising(monkeypatch: pytest.MonkeyPatch, db: FakeDatabase) -> None:
    db.refuse = fake_error(10, "authentication failed")
    ok, message = _hook(monkeypatch).test_connection()
    assert not ok and "lock" in message


def test_common_sql_sees_a_dbapi_hook_with_autocommit_control(
    monkeypatch: pytest.MonkeyPatch, db: FakeDatabase
) -> None:
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    hook = _hook(monkeypatch)
    assert isinstance(hook, DbApiHook) and hook.dialect_name == "hana"
    conn = hook.get_conn()
    hook.set_autocommit(conn, False)
    assert hook.get_autocommit(conn) is False
    assert hook.get_first("SELECT CURRENT_UTCTIMESTAMP FROM DUMMY") == (datetime(2026, 11, 20, 8, 0),)
