"""Planted secrets: credentials under unusual names go through the real DAGs and come out nowhere.

Fresh random secrets each run, planted in the sandboxes and in the connections the DAGs read:

- Salesforce: a password and a ``security_token`` (SOAP login, ``salesforce_account``), a JWT private key
  (PEM, ``salesforce_contact``), a ``consumer_secret`` (client credentials, ``salesforce_opportunity``), an
  OAuth ``refresh_token`` with its ``client_secret`` (``salesforce_case``), and a wrong consumer secret that the
  sandbox refuses (a failed ``salesforce_opportunity`` run: failure paths are searched too);
- ServiceNow: a basic-auth password (``servicenow_core_company``), an OAuth ``refresh_token`` with its
  ``client_secret`` (``servicenow_incident``);
- Jira Cloud: an API token (the connection's ``password``, basic auth with the e-mail; ``jira_issues``);
- SAP: an ``hdbuserstore`` key (extra ``user_key``) and the password inside the sandbox's
  ``sqlalchemy_url`` (``sap_kna1``).

Each sandbox counts the logins it accepted, so every secret is shown to have been used. Then the test
searches, for each secret and its URL/base64/JSON forms: every task log (``dag.test()`` runs tasks in
process, so their log lines are this process's output and log records, captured here; it writes no log
file), every table of Airflow's metadata DB (XCom, rendered template fields and all the rest), every object
of every bucket on the S3 server (Parquet parts decoded as well), every column of every warehouse table in
the test schema, and every file under the Airflow home. It asserts 0 hits and prints how much it searched.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from secret_scan import Scan

pytestmark = pytest.mark.integration

POSTGRES_URL = os.environ.get("LUMINA_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _secret(prefix: str) -> str:
    return f"{prefix}-{secrets.token_urlsafe(24)}"


def _rsa_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture
def sap_erp() -> Iterator[dict[str, str]]:
    """A SAP-shaped schema and ``sap_erp`` with a planted user store key and URL password."""
    import sqlalchemy as sa

    from lumina_sandbox.sap.generator import Sizes, generate
    from lumina_sandbox.sap.system import SapSystem

    engine = sa.create_engine(POSTGRES_URL)
    schema = f"sap_{uuid.uuid4().hex[:10]}"
    system = SapSystem(engine, schema)
    system.create()
    generate(system, Sizes(customers=30, materials=10, orders=20))
    planted = {"sap_user_key": f"LUMINAKEY{secrets.token_hex(12).upper()}", "sap_url_password": _secret("sapdb")}
    url = sa.make_url(POSTGRES_URL).set(password=planted["sap_url_password"])
    os.environ["AIRFLOW_CONN_SAP_ERP"] = json.dumps(
        {
            "conn_type": "hana",
            "extra": {
                # The sandbox's Postgres trusts loopback: the password travels but is not checked.
                "sqlalchemy_url": url.render_as_string(hide_password=False),
                "user_key": planted["sap_user_key"],
                "sap_schema": schema,
                "client": "100",
                "clock_table": "ZLUMINA_CLOCK",
            },
        }
    )
    yield planted
    os.environ.pop("AIRFLOW_CONN_SAP_ERP", None)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


@pytest.fixture(scope="module")
def jira_site() -> Iterator[Any]:
    from lumina_sandbox.jira.instance import Instance
    from lumina_sandbox.jira.server import JiraServer

    with JiraServer(Instance.generate(counts={"issues": 40})) as server:
        yield server


def _jira_run(harness: Any, site: Any, planted: dict[str, str]) -> None:
    """A Jira Cloud API token (the connection's ``password``, basic auth with the e-mail)."""
    from lumina_sandbox.jira.connection import airflow_connection

    auth = site.instance.auth
    previous = auth.replace_credentials(api_token=planted["jira_api_token"])
    try:
        os.environ["AIRFLOW_CONN_JIRA_DEFAULT"] = json.dumps(
            airflow_connection(site.control.credentials(), site.ca_path)
        )
        before = auth.logins["basic"]
        assert harness.run_ok("jira_issues")["rows_inserted"] > 0
        assert auth.logins["basic"] > before
    finally:
        auth.replace_credentials(**previous.as_dict())
        os.environ.pop("AIRFLOW_CONN_JIRA_DEFAULT", None)


def _salesforce_runs(harness: Any, server: Any, planted: dict[str, str]) -> None:
    """Four Salesforce DAGs, each logging in with another flow and its planted secrets."""
    auth, base = server.org.auth, dict(server.connection)
    extra = {"ca_bundle": base["extra"]["ca_bundle"], "domain": base["extra"]["domain"]}
    client_id = server.credentials.client_id
    flows: list[tuple[str, str, dict[str, Any]]] = [
        ("salesforce_account", "soap", {**base}),
        (
            "salesforce_contact",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
            {**base, "password": None, "extra": {**extra, "consumer_key": client_id,
                                                  "private_key": planted["sf_private_key"]}},
        ),
        (
            "salesforce_opportunity",
            "client_credentials",
            {**base, "login": None, "password": None,
             "extra": {**extra, "consumer_key": client_id, "consumer_secret": planted["sf_consumer_secret"]}},
        ),
        (
            "salesforce_case",
            "refresh_token",
            {**base, "login": None, "password": None,
             "extra": {**extra, "client_id": client_id, "client_secret": planted["sf_consumer_secret"],
                       "refresh_token": planted["sf_refresh_token"]}},
        ),
    ]  # fmt: skip
    for dag_id, flow, connection in flows:
        before = auth.logins[flow]
        os.environ["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = json.dumps(connection)
        assert harness.run_ok(dag_id)["rows_inserted"] > 0, dag_id
        assert auth.logins[flow] > before, f"{dag_id} did not log in with {flow}"
    # A refused login (a wrong secret, planted too): the failure's log lines, error and records must not show it.
    refused = {**flows[2][2], "extra": {**flows[2][2]["extra"], "consumer_secret": planted["sf_refused_secret"]}}
    os.environ["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = json.dumps(refused)
    run = harness.run("salesforce_opportunity")
    assert str(run.state) == "failed" and "failed" in harness.states(run).values(), harness.states(run)
    # Reverse ETL with the SOAP login: legacy CRM accounts (a file drop) written to Salesforce by a DAG
    # whose templated field ("where") gives rendered-field rows.
    from lumina_sandbox import file_drops

    harness.drop(file_drops.accounts_initial(n=60))
    assert harness.run_ok("filedrop_crm_accounts")["rows_inserted"] > 0
    os.environ["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = json.dumps(flows[0][2])
    before = auth.logins["soap"]
    run = harness.run("salesforce_writeback_legacy_accounts")
    assert str(run.state) == "success", harness.states(run)
    assert run.get_task_instance("upsert_accounts").xcom_pull(task_ids="upsert_accounts")["created"] > 0
    assert auth.logins["soap"] > before


def _servicenow_runs(harness: Any, server: Any, planted: dict[str, str]) -> None:
    from lumina_sandbox.servicenow.connection import airflow_connection

    auth = server.instance.auth
    credentials = {**server.credentials.as_dict(), "instance_url": server.base_url}
    before = auth.logins["basic"]
    os.environ["AIRFLOW_CONN_SERVICENOW_DEFAULT"] = json.dumps(airflow_connection(credentials, server.ca_path))
    assert harness.run_ok("servicenow_core_company")["rows_inserted"] > 0
    assert auth.logins["basic"] > before
    # The refresh token is got once with the password grant, as an operator would, then lives in the connection.
    grant = requests.post(
        f"{server.base_url}/oauth_token.do",
        data={"grant_type": "password", "client_id": credentials["client_id"],
              "client_secret": credentials["client_secret"], "username": credentials["username"],
              "password": credentials["password"]},
        verify=str(server.ca_path), timeout=30,
    )  # fmt: skip
    assert grant.status_code == 200, grant.text
    planted["sn_refresh_token"] = grant.json()["refresh_token"]
    connection = airflow_connection(
        credentials, server.ca_path, auth="oauth_refresh_token", refresh_token=planted["sn_refresh_token"]
    )
    before = auth.logins["refresh_token"]
    os.environ["AIRFLOW_CONN_SERVICENOW_DEFAULT"] = json.dumps(connection)
    assert harness.run_ok("servicenow_incident")["rows_inserted"] > 0
    assert auth.logins["refresh_token"] > before


def test_planted_secrets_appear_nowhere(
    harness: Any,
    salesforce: Any,
    servicenow: Any,
    sap_erp: dict[str, str],
    jira_site: Any,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    planted_at = datetime.now(UTC)
    private_key, public_key = _rsa_pair()
    planted = {
        "sf_password": _secret("sfpw"),
        "sf_security_token": secrets.token_hex(16).upper(),
        "sf_consumer_secret": secrets.token_hex(32).upper(),
        "sf_private_key": private_key,
        "sf_refresh_token": "5Aep861" + secrets.token_urlsafe(48),
        "sf_refused_secret": secrets.token_hex(32).upper(),  # sent once, refused
        "sn_password": _secret("snpw"),
        "sn_client_secret": _secret("sncs"),
        "jira_api_token": "ATATT3x" + secrets.token_urlsafe(32),
        **sap_erp,
    }
    sf_auth, sn_auth = salesforce.org.auth, servicenow.instance.auth
    sf_previous = sf_auth.replace_credentials(
        password=planted["sf_password"],
        security_token=planted["sf_security_token"],
        client_secret=planted["sf_consumer_secret"],
        private_key_pem=private_key,
        public_key_pem=public_key,
        refresh_token=planted["sf_refresh_token"],
    )
    sn_previous = sn_auth.replace_credentials(
        password=planted["sn_password"], client_secret=planted["sn_client_secret"]
    )
    caplog.set_level(logging.INFO)  # what a deployment logs ([logging] logging_level = INFO)
    try:
        salesforce.connection = salesforce_connection(salesforce)
        _salesforce_runs(harness, salesforce, planted)
        _servicenow_runs(harness, servicenow, planted)
        _jira_run(harness, jira_site, planted)
        before = harness.count("customer")
        assert harness.run_ok("sap_kna1")["rows_inserted"] > 0 and harness.count("customer") > before
    finally:
        # The session's sandboxes and connections as the other tests know them.
        sf_auth.replace_credentials(**sf_previous)
        sn_auth.replace_credentials(**sn_previous.as_dict())
        salesforce.connection = salesforce_connection(salesforce)
        os.environ["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = json.dumps(salesforce.connection)
        os.environ["AIRFLOW_CONN_SERVICENOW_DEFAULT"] = json.dumps(servicenow.connection)

    scan = Scan(
        planted,
        basic_auth={
            "sn_password": (servicenow.credentials.username, planted["sn_password"]),
            "jira_api_token": (jira_site.credentials.email, planted["jira_api_token"]),
        },
    )
    out, err = capfd.readouterr()
    records = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    captured = "\n".join([out, err, records])
    # The task logs were captured: dag.test()'s own lines and the operators' (the extract step's summary).
    assert "[DAG TEST] starting task_id=extract" in captured and "Extracted " in captured
    assert "Salesforce refused the client_credentials login" in captured  # the refused run failed for that
    scan.logs(captured)
    from airflow.settings import engine as airflow_engine

    scan.database("metadata DB", airflow_engine, None)
    scan.database("warehouse", harness.engine, harness.schema)
    scan.lake(harness.s3, since=planted_at)
    home = Path(os.environ["AIRFLOW_HOME"])
    scan.files(home)
    assert not list(home.glob("logs/**/*.log")), "dag.test() wrote task log files: search them too"
    print(scan.report())
    for place in ("log lines", "metadata DB rows", "warehouse tables", "warehouse rows", "lake objects",
                  "parquet rows", "files"):  # fmt: skip
        assert scan.searched[place] > 0, f"nothing searched in {place}"
    assert scan.searched["metadata DB tables"] > 50  # every table, not only xcom and rendered fields
    with airflow_engine.connect() as conn:
        from sqlalchemy import text

        xcoms = conn.execute(text("SELECT COUNT(*) FROM xcom")).scalar()
        rendered = conn.execute(text("SELECT COUNT(*) FROM rendered_task_instance_fields")).scalar()
    print(f"of which {xcoms} XCom rows and {rendered} rendered-field rows")
    assert xcoms and rendered
    assert scan.hits == [], "\n".join(scan.hits[:20])


def salesforce_connection(server: Any) -> dict[str, Any]:
    from lumina_sandbox.salesforce.connection import airflow_connection

    return airflow_connection(server.credentials.as_dict(), server.ca_path)


def test_the_search_finds_each_form_of_a_secret_in_each_place(
    s3: Any, bucket: str, pg_schema: tuple[Any, str], tmp_path: Path
) -> None:
    """The same search, on a canary put where it must be found: a hit per place, whatever the encoding."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import sqlalchemy as sa

    canary, (pem, _) = _secret("canary"), _rsa_pair()
    scan = Scan({"canary": canary, "pem": pem}, basic_auth={"canary": ("lumina.integration", canary)})
    part = io.BytesIO()  # base64 in a zstd-compressed Parquet column: invisible in the raw bytes
    pq.write_table(pa.table({"v": [base64.b64encode(canary.encode()).decode()] * 500}), part, compression="zstd")
    s3.put_object(Bucket=bucket, Key="raw/part-00000.parquet", Body=part.getvalue())
    s3.put_object(Bucket=bucket, Key="manifest.json", Body=json.dumps({"key": pem}).encode())  # PEM, JSON-escaped
    scan.lake(s3, [bucket])
    engine, schema = pg_schema
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        conn.exec_driver_sql(f'CREATE TABLE "{schema}".audit (id int, detail jsonb)')
        conn.execute(
            sa.text(f'INSERT INTO "{schema}".audit VALUES (1, :d)'), {"d": json.dumps({"url": f"?t={canary}"})}
        )
    scan.database("warehouse", engine, schema)
    header = base64.b64encode(f"lumina.integration:{canary}".encode()).decode()
    (tmp_path / "requests.log").write_text(f"Authorization: Basic {header}\n")
    scan.files(tmp_path)
    scan.logs(f"POST /oauth_token.do refresh_token={quote(canary, safe='')}")
    found = {(hit.split(":")[0], hit.rsplit("(", 1)[1].rstrip(")")) for hit in scan.hits}
    assert {
        ("lake", "base64_0"),
        ("lake", "json"),
        ("warehouse", "raw"),
        ("files", "basic_auth_0"),
        ("task logs", "url"),
    } <= found
    assert any(place == "lake" and form.startswith("pem_line_") for place, form in found)
