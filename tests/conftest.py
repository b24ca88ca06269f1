"""Test environment: a throwaway Airflow home, a real S3 server on loopback, a real Postgres.

Airflow reads its configuration at import, so the environment is set here before anything
imports it. Connections come from AIRFLOW_CONN_* variables, so the pipelines in dags/ run
unchanged against the test servers.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
_HOME = tempfile.mkdtemp(prefix="lumina_af_home_")
POSTGRES_URL = os.environ.get("LUMINA_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

os.environ.update(
    {
        "AIRFLOW_HOME": _HOME,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME}/airflow.db",
        "AIRFLOW__LOGGING__NAMESPACE_LEVELS": "great_expectations=WARNING",
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_DEFAULT_REGION": "us-east-1",
        "GX_ANALYTICS_ENABLED": "False",
    }
)
# The environment's declared lake (what the plan step checks the lake connection against) is the test
# S3 server, set by the s3_endpoint fixture; not a port inherited from `make` or `.lumina/env`.
for _name in ("LUMINA_S3_PORT", "LUMINA_S3_ENDPOINT"):
    os.environ.pop(_name, None)

# The PII keys for the whole session: generated, like `lumina settings-import` does for a deployment.
from lumina_integration.protection.keys import generate_keys, keys_connection  # noqa: E402

os.environ["AIRFLOW_CONN_LUMINA_PII_KEYS"] = json.dumps(keys_connection(generate_keys()))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server, a real HTTP endpoint, for the whole session."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ["LUMINA_S3_ENDPOINT"] = endpoint
    for conn_id in ("LUMINA_LAKE", "LUMINA_LANDING"):
        os.environ[f"AIRFLOW_CONN_{conn_id}"] = json.dumps(
            {"conn_type": "aws", "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
        )
    yield endpoint
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(s3: Any) -> str:
    """A fresh, empty bucket per test."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def pg_schema() -> Iterator[tuple[Any, str]]:
    """(engine, schema): a fresh schema in the real Postgres, dropped afterwards."""
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL)
    schema = f"lumina_test_{uuid.uuid4().hex[:10]}"
    yield engine, schema
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


@pytest.fixture
def duckdb_engine(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(f"duckdb:///{tmp_path / 'warehouse.duckdb'}", poolclass=NullPool)
    yield engine, "main"
    engine.dispose()


@pytest.fixture(params=["postgres", "duckdb"])
def warehouse(request: pytest.FixtureRequest) -> tuple[Any, str]:
    """Each warehouse dialect in turn."""
    fixture = "pg_schema" if request.param == "postgres" else "duckdb_engine"
    return request.getfixturevalue(fixture)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's metadata DB (SQLite), migrated once: dag.test() needs it."""
    from airflow.utils import db

    db.initdb()


# Small enough that a pipeline run takes seconds, big enough for several REST pages and ties.
SALESFORCE_ORG = {
    "Account": 1200,
    "Contact": 220,
    "Opportunity": 160,
    "Case": 140,
    "Lead": 30,
    "User": 6,
    "Invoice__c": 20,
}


@pytest.fixture(scope="session")
def salesforce_server() -> Iterator[Any]:
    """The Salesforce sandbox (HTTPS on loopback) for the whole session."""
    from lumina_sandbox.salesforce.org import Org
    from lumina_sandbox.salesforce.server import SandboxServer

    with SandboxServer(Org.generate(counts=SALESFORCE_ORG)) as server:
        yield server


def salesforce_connection(server: Any) -> dict[str, Any]:
    """A ``salesforce`` connection (SOAP login: user, password, security token) to the sandbox.

    The same connection the provider's ``SalesforceHook`` reads (login host in the ``domain`` extra).
    """
    from lumina_sandbox.salesforce.connection import airflow_connection

    return airflow_connection(server.credentials.as_dict(), server.ca_path)


@pytest.fixture
def salesforce(salesforce_server: Any) -> Iterator[Any]:
    """The sandbox org back in its generated state, and ``salesforce_default`` pointing at it."""
    salesforce_server.org.reset()
    salesforce_server.connection = salesforce_connection(salesforce_server)
    os.environ["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = json.dumps(salesforce_server.connection)
    yield salesforce_server
    salesforce_server.org.faults.clear()


# Several pages per pipeline at the pipelines' page size, ties on sys_updated_on, audited and unaudited tables.
SERVICENOW_INSTANCE = {"core_company": 40, "sys_user": 160, "incident": 1400, "sc_req_item": 240, "change_request": 120}


@pytest.fixture(scope="session")
def servicenow_server() -> Iterator[Any]:
    """The ServiceNow sandbox instance (HTTPS on loopback) for the whole session."""
    from lumina_sandbox.servicenow.instance import Instance
    from lumina_sandbox.servicenow.server import ServiceNowServer

    with ServiceNowServer(Instance.generate(seed=17, counts=SERVICENOW_INSTANCE)) as server:
        yield server
    server.instance.close()


@pytest.fixture
def servicenow(servicenow_server: Any) -> Iterator[Any]:
    """The sandbox instance back in its generated state, and ``servicenow_default`` pointing at it (basic auth)."""
    from lumina_sandbox.servicenow.connection import airflow_connection

    servicenow_server.instance.reset()
    credentials = {**servicenow_server.credentials.as_dict(), "instance_url": servicenow_server.base_url}
    servicenow_server.connection = airflow_connection(credentials, servicenow_server.ca_path)
    os.environ["AIRFLOW_CONN_SERVICENOW_DEFAULT"] = json.dumps(servicenow_server.connection)
    yield servicenow_server
    servicenow_server.instance.faults.clear()
    servicenow_server.instance.hooks.clear()
    servicenow_server.instance.rate_limit.set(None)
