"""The ServiceNow part of ``make demo``: the sandbox instance, its Airflow connection, a scripted day of changes.

The sandbox runs detached and keeps its instance between demos; the day of changes is applied once per
instance (a marker incident tells), so running the demo again loads nothing new.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lumina_sandbox.servicenow import runner
from lumina_sandbox.servicenow.connection import airflow_connection as sandbox_connection
from lumina_sandbox.servicenow.control import ServiceNowControl

CONN_ID = "servicenow_default"
DEMO_COUNTS = {"core_company": 200, "sys_user": 1000, "incident": 5000, "sc_req_item": 2000, "change_request": 800}
MARKER = "Demo delta incident"
NEW_FIELD = {
    "element": "u_escalation_tier",
    "internal_type": "integer",
    "label": "Escalation tier",
    "choices": [["1", "Tier 1"], ["2", "Tier 2"], ["3", "Tier 3"]],
}


def start(state_dir: Path, auth: str = "basic") -> ServiceNowControl:
    """Start the sandbox (or reuse the running one) and register its connection in Airflow."""
    from lumina_integration.settings import save_connections

    runner.start(runner.DEFAULT_PORT, state_dir, 7, DEMO_COUNTS)
    control = ServiceNowControl.from_state_dir(state_dir)
    connection = airflow_connection(state_dir, auth)
    save_connections({CONN_ID: connection})
    # dag.test() in this process reads the same connection from the environment first.
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(connection)
    return control


def airflow_connection(state_dir: Path, auth: str = "basic") -> dict[str, Any]:
    """The ``servicenow`` connection to the sandbox, from its private credentials file."""
    folder = runner.sandbox_dir(state_dir)
    creds = json.loads((folder / "credentials.json").read_text())
    cert = folder / creds["client_cert_file"] if creds.get("mutual_tls") else None
    return sandbox_connection(creds, folder / creds["ca_file"], auth=auth, client_cert=cert)


def apply_changes(control: ServiceNowControl, watermark: datetime | None) -> dict[str, int] | None:
    """A day on the instance, once: new incidents, late updates tied on one second, audited and unaudited
    deletes, a field added to incident. Returns what was done, or None when this instance already had its day."""
    if any(
        (r.get("short_description") or "").startswith(MARKER) for r in control.truth("incident", ["short_description"])
    ):
        return None
    incidents = sorted(control.ids("incident"))
    users = sorted(control.ids("sys_user"))
    done = {
        "created": len(
            control.create("incident", [{"short_description": f"{MARKER} {i}", "urgency": "2"} for i in range(25)])
        )
    }
    # Committed late: stamped 30 s behind the last watermark (inside the lookback), 40 of them in one second.
    late = (watermark or control.now()) - timedelta(seconds=30)
    control.update("incident", [{"sys_id": i, "state": "2"} for i in incidents[:40]], stamp=late)
    done["late_tied_updates"] = 40
    done["audited_deletes"] = control.delete("incident", incidents[40:50])
    done["unaudited_deletes"] = control.delete("sys_user", users[-5:])  # sys_user is not audited
    control.add_field("incident", NEW_FIELD, value="1")
    done["new_field_values"] = len(incidents) - 10
    control.advance(120)  # past the pipelines' safety lag
    return done
