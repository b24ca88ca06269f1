"""SAP HANA connection settings, read from an Airflow ``hana`` connection.

Two ways to reach the data, one set of SQL statements:

- **hdbcli** (a real HANA): ``host``/``port``, ``schema`` = the tenant database name, and one of
  ``login``/``password``, an ``hdbuserstore`` key (extra ``user_key``) or an X.509 client
  certificate (extra ``certificate``: PEM certificate + private key). TLS is on and the server
  certificate is validated unless the extras say otherwise (``encrypt``, ``validate_certificate``,
  ``trust_store`` = PEM text or a file, ``hostname_in_certificate``).
- **sqlalchemy** (the SAP-shaped sandbox): extra ``sqlalchemy_url`` names any SQLAlchemy database
  holding SAP-shaped tables; hdbcli is then never imported.

Both: ``sap_schema`` (the ABAP schema, e.g. ``SAPHANADB``), ``client`` (default ``MANDT``),
``isolation_level`` of the read snapshot, and (sandbox only) ``clock_table``, a one-row table
whose ``UTC_NOW`` is the system's simulated clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

DEFAULT_PORT = 30015  # single-container systems; a tenant through the system DB is 3<nn>13
TENANT_PORT = 30013
SNAPSHOT_LEVELS = ("REPEATABLE READ", "SERIALIZABLE")  # transaction-level snapshots in HANA

Mode = Literal["hdbcli", "sqlalchemy"]


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


@dataclass(frozen=True)
class HanaSettings:
    """Everything needed to open a connection; secrets are listed by :meth:`secrets`."""

    conn_id: str
    mode: Mode
    host: str | None = None
    port: int = DEFAULT_PORT
    database: str | None = None
    user: str | None = None
    password: str | None = None
    user_key: str | None = None
    certificate: str | None = None
    certificate_password: str | None = None
    encrypt: bool = True
    validate_certificate: bool = True
    trust_store: str | None = None
    hostname_in_certificate: str | None = None
    sap_schema: str | None = None
    client: str | None = None
    isolation_level: str = "REPEATABLE READ"
    connect_timeout_ms: int = 15_000
    sqlalchemy_url: str | None = None
    clock_table: str | None = None

    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        from sqlalchemy.engine import make_url

        url_password = make_url(self.sqlalchemy_url).password if self.sqlalchemy_url else None
        values = (self.password, self.user_key, self.certificate, self.certificate_password, url_password)
        return [v for v in values if v]

    @property
    def auth_method(self) -> str:
        if self.user_key:
            return "user_key"
        if self.certificate:
            return "x509"
        return "password"

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``hdbcli.dbapi.connect`` (connection properties as strings).

        Autocommit is off: hdbcli's default is on, which would give every statement of a read its
        own snapshot instead of one for the whole read.
        """
        if self.mode != "hdbcli":
            raise ValueError(f"connection {self.conn_id!r} is a SQLAlchemy (sandbox) connection, not hdbcli")
        kwargs: dict[str, Any] = {
            "address": self.host,
            "port": self.port,
            "autocommit": False,
            "encrypt": "true" if self.encrypt else "false",
            "sslValidateCertificate": "true" if self.validate_certificate else "false",
            "connectTimeout": str(self.connect_timeout_ms),
        }
        if self.database:
            kwargs["databaseName"] = self.database
        if self.user_key:
            kwargs["userkey"] = self.user_key
        elif self.certificate:
            kwargs["authenticationX509"] = self.certificate
            if self.certificate_password:
                kwargs["authenticationX509Password"] = self.certificate_password
        else:
            kwargs["user"], kwargs["password"] = self.user, self.password
        if self.trust_store:
            kwargs["sslTrustStore"] = self.trust_store
        if self.hostname_in_certificate:
            kwargs["sslHostNameInCertificate"] = self.hostname_in_certificate
        if self.sap_schema:
            kwargs["currentSchema"] = self.sap_schema
        return kwargs


def settings_from_connection(conn: Any) -> HanaSettings:
    """Build settings from an Airflow connection object; raises ValueError naming what is wrong."""
    extra = dict(conn.extra_dejson)
    name = conn.conn_id
    level = str(extra.get("isolation_level") or "REPEATABLE READ").upper()
    if level not in SNAPSHOT_LEVELS:
        raise ValueError(
            f"connection {name!r}: isolation_level {level!r} gives no snapshot across statements; "
            f"use one of {SNAPSHOT_LEVELS}"
        )
    common: dict[str, Any] = {
        "conn_id": name,
        "sap_schema": extra.get("sap_schema") or None,
        "client": str(extra["client"]) if extra.get("client") not in (None, "") else None,
        "isolation_level": level,
        "clock_table": extra.get("clock_table") or None,
    }
    if extra.get("sqlalchemy_url"):
        return HanaSettings(mode="sqlalchemy", sqlalchemy_url=str(extra["sqlalchemy_url"]), **common)
    if not conn.host:
        raise ValueError(f"connection {name!r}: no host (or extra sqlalchemy_url for a SAP-shaped sandbox)")
    certificate = extra.get("certificate") or None
    user_key = extra.get("user_key") or None
    if not (user_key or certificate or (conn.login and conn.password)):
        raise ValueError(
            f"connection {name!r}: give login and password, an hdbuserstore key (extra user_key) or a "
            "client certificate (extra certificate)"
        )
    return HanaSettings(
        mode="hdbcli",
        host=conn.host,
        port=int(conn.port or (TENANT_PORT if conn.schema else DEFAULT_PORT)),
        database=conn.schema or None,
        user=conn.login or None,
        password=conn.password or None,
        user_key=user_key,
        certificate=certificate,
        certificate_password=extra.get("certificate_password") or None,
        encrypt=_flag(extra.get("encrypt"), True),
        validate_certificate=_flag(extra.get("validate_certificate"), True),
        trust_store=extra.get("trust_store") or None,
        hostname_in_certificate=extra.get("hostname_in_certificate") or None,
        connect_timeout_ms=int(extra.get("connect_timeout_ms") or 15_000),
        **common,
    )
