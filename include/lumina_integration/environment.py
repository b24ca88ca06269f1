"""What a local environment (one checkout's demo, UI or test run) can move, one setting each.

Two checkouts on one machine must not share a server or a file by accident, so every endpoint,
port and path that differs between them comes from exactly one environment variable, read here:

- ``LUMINA_S3_PORT`` (default 9555): the S3 sandbox's port, hence the endpoint of the lake and the
  landing connections. ``LUMINA_S3_ENDPOINT`` replaces the whole URL (another S3-compatible server).
- ``LUMINA_SALESFORCE_PORT`` (default 9556): the Salesforce sandbox's port; its connection is written
  from the running sandbox, so it follows.
- ``LUMINA_SERVICENOW_PORT`` (default 9557): the ServiceNow sandbox's port.
- ``LUMINA_JIRA_PORT`` (default 9558): the Jira sandbox's port.
- ``LUMINA_STATE_DIR`` (default ``<project>/.lumina``): the Airflow home, the sandboxes' state, the
  SAP sandbox's SQLite file.
- ``LUMINA_DUCKDB_PATH`` (default ``<state dir>/warehouse.duckdb``): the DuckDB warehouse file.

The Makefile exports them (and ``.lumina/env`` repeats them for hand-typed commands);
Whatever creates the state folder creates it private (:func:`private_state_dir`: 0700, files 0600).
``lumina settings-import`` expands ``${NAME}`` placeholders in ``airflow_settings.yaml`` from
:func:`placeholder_value`. Nothing here is read at DAG parse time.
"""

from __future__ import annotations

import os
from pathlib import Path

from lumina_integration.paths import PROJECT_DIR

LOOPBACK = "127.0.0.1"
S3_PORT = "LUMINA_S3_PORT"
S3_ENDPOINT = "LUMINA_S3_ENDPOINT"
SALESFORCE_PORT = "LUMINA_SALESFORCE_PORT"
SERVICENOW_PORT = "LUMINA_SERVICENOW_PORT"
JIRA_PORT = "LUMINA_JIRA_PORT"
STATE_DIR = "LUMINA_STATE_DIR"
DUCKDB_PATH = "LUMINA_DUCKDB_PATH"
DEFAULT_S3_PORT = 9555
DEFAULT_SALESFORCE_PORT = 9556
DEFAULT_SERVICENOW_PORT = 9557
DEFAULT_JIRA_PORT = 9558


def _port(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{name}={value!r} is not a TCP port")
    return int(value)


def s3_port() -> int:
    return _port(S3_PORT, DEFAULT_S3_PORT)


def salesforce_port() -> int:
    return _port(SALESFORCE_PORT, DEFAULT_SALESFORCE_PORT)


def servicenow_port() -> int:
    return _port(SERVICENOW_PORT, DEFAULT_SERVICENOW_PORT)


def jira_port() -> int:
    return _port(JIRA_PORT, DEFAULT_JIRA_PORT)


def s3_endpoint() -> str:
    """The environment's S3 endpoint: ``LUMINA_S3_ENDPOINT``, else the sandbox on ``LUMINA_S3_PORT``."""
    return os.environ.get(S3_ENDPOINT, "").strip() or f"http://{LOOPBACK}:{s3_port()}"


def declared_lake_endpoint() -> str | None:
    """The lake endpoint this environment says it uses, or None when it says nothing (a deployment on real S3).

    Only an explicit ``LUMINA_S3_ENDPOINT`` or ``LUMINA_S3_PORT`` declares one (the Makefile and the
    tests set them); the default port alone does not, so a deployment without them is never refused.
    """
    if os.environ.get(S3_ENDPOINT, "").strip() or os.environ.get(S3_PORT, "").strip():
        return s3_endpoint()
    return None


def same_endpoint(left: str | None, right: str | None) -> bool:
    """Whether two endpoint URLs name the same server (case of scheme and host, a trailing slash ignored)."""

    def norm(url: str | None) -> str:
        return (url or "").strip().rstrip("/").lower()

    return norm(left) == norm(right)


def _resolved(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_DIR / path


def state_dir() -> Path:
    """Where this environment keeps its state (absolute; a relative setting is taken from the project)."""
    return _resolved(os.environ.get(STATE_DIR, "").strip() or ".lumina")


def private_state_dir() -> Path:
    """The state folder, created 0700 (and tightened if an older run left it readable by others).

    It holds the Airflow metadata DB, the DuckDB warehouse, the SAP sample and the sandboxes' credentials:
    personal data and secrets (:mod:`lumina_integration.private`).
    """
    from lumina_integration.private import private_dir

    return private_dir(state_dir())


def duckdb_path() -> Path:
    value = os.environ.get(DUCKDB_PATH, "").strip()
    return _resolved(value) if value else state_dir() / "warehouse.duckdb"


def placeholder_value(name: str) -> str | None:
    """The value of ``${name}`` in ``airflow_settings.yaml``: the environment's, with the defaults above.

    Returns None for a name that is neither set nor one of the settings above (the caller says where).
    """
    derived = {
        S3_ENDPOINT: s3_endpoint,
        S3_PORT: lambda: str(s3_port()),
        SALESFORCE_PORT: lambda: str(salesforce_port()),
        SERVICENOW_PORT: lambda: str(servicenow_port()),
        JIRA_PORT: lambda: str(jira_port()),
        STATE_DIR: lambda: str(state_dir()),
        DUCKDB_PATH: lambda: str(duckdb_path()),
    }
    if name in derived:
        return derived[name]()
    return os.environ.get(name)
