"""What ``make demo`` calls for SAP: create and fill the SAP-shaped sandbox, change it between runs.

The demo's SAP system is a SQLite file (``<LUMINA_STATE_DIR>/sap_erp.sqlite``): embedded, no server to
start, and SQLAlchemy reflects it completely (column lengths and primary keys, which the hook
needs to split ``CDPOS-TABKEY``). DuckDB was the other candidate, but its catalogue drops VARCHAR
lengths and duckdb_engine's reflection fails on SQLAlchemy 2.1. SQLite keeps DECIMAL as REAL
affinity; SQLAlchemy rounds back to the declared scale, exact for CURR(15,2) amounts. The
integration tests use Postgres instead (a schema per test). The ``sap_erp`` connection in
``airflow_settings.yaml`` points at the file (:func:`connection` gives the same as JSON).

    from lumina_sandbox.sap import demo as sap_demo
    sap_demo.prepare()                 # before the first runs of dags/erp/sap_*.dag.yaml
    sap_demo.apply_changes(watermark)  # between the runs: every kind of change, some late
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from lumina_integration.environment import state_dir
from lumina_integration.private import private_dir
from lumina_sandbox.sap.generator import Sizes, generate
from lumina_sandbox.sap.mutator import scripted_changes
from lumina_sandbox.sap.system import SapSystem

DEFAULT_PATH = state_dir() / "sap_erp.sqlite"  # airflow_settings.yaml's sap_erp names the same file
SAFETY_LAG_SECONDS = 120  # the specs' commit lag
PIPELINES = ["sap_kna1", "sap_mara", "sap_vbak", "sap_vbap"]
DEMO_SIZES = Sizes(customers=400, materials=120, orders=2000)


def connection(path: Path = DEFAULT_PATH) -> dict[str, Any]:
    """The ``sap_erp`` Airflow connection (as for ``AIRFLOW_CONN_SAP_ERP``) for the sandbox."""
    return {
        "conn_type": "hana",
        "extra": {
            "sqlalchemy_url": f"sqlite:///{path}",
            "client": "100",
            "clock_table": "ZLUMINA_CLOCK",
        },
    }


def system(path: Path = DEFAULT_PATH) -> SapSystem:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    private_dir(path.parent)
    # No pool: the DAG runs open the file too; nothing may hold it between steps.
    return SapSystem(create_engine(f"sqlite:///{path}", poolclass=NullPool), None)


def prepare(path: Path = DEFAULT_PATH, sizes: Sizes = DEMO_SIZES) -> SapSystem:
    """(Re)create the SAP sandbox with generated data; returns it (``.now()``, ``.advance()``)."""
    sap = system(path)
    sap.create()
    generate(sap, sizes)
    return sap


def apply_changes(watermark: datetime | None, path: Path = DEFAULT_PATH) -> dict[str, Any]:
    """One round of changes (new, changed, rejected, deleted and archived orders, customer and
    text changes, late commits behind ``watermark``, noise in the test client), then the clock
    moves past the commit lag so the next runs see them. Returns what changed."""
    sap = system(path)
    sap.advance(600)
    done = scripted_changes(sap, watermark)
    sap.advance(SAFETY_LAG_SECONDS + 60)
    return done


if __name__ == "__main__":
    prepare()
    print(json.dumps(connection()))
