"""The Salesforce part of ``make demo``: the sandbox org, its Airflow connection, a scripted day of changes.

The sandbox runs detached (like the S3 server) and keeps its org between demos; the changes are
applied once per org (a marker account tells), so running the demo again loads nothing new.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lumina_sandbox.salesforce import runner
from lumina_sandbox.salesforce.connection import airflow_connection as sandbox_connection
from lumina_sandbox.salesforce.control import SandboxControl

CONN_ID = "salesforce_default"
# Large enough that first loads go through Bulk 2.0 (salesforce_account: above 1,000 records).
DEMO_COUNTS = {
    "Account": 5000,
    "Contact": 8000,
    "Opportunity": 6000,
    "Case": 4000,
    "Lead": 500,
    "User": 20,
    "Invoice__c": 100,
}
MARKER = "Demo delta account"
NEW_FIELD = {
    "name": "Customer_Segment__c",
    "type": "picklist",
    "label": "Customer Segment",
    "picklistValues": ["Enterprise", "Mid-Market", "SMB"],
}


def start(state_dir: Path) -> SandboxControl:
    """Start the sandbox (or reuse the running one) and register its connection in Airflow."""
    from lumina_integration.settings import save_connections

    runner.start(runner.DEFAULT_PORT, state_dir, 7, DEMO_COUNTS, 450)
    control = SandboxControl.from_state_dir(state_dir)
    connection = airflow_connection(state_dir)
    save_connections({CONN_ID: connection})
    # dag.test() in this process reads the same connection from the environment first.
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(connection)
    return control


def airflow_connection(state_dir: Path) -> dict[str, Any]:
    """The ``salesforce`` connection to the sandbox (SOAP login), from its private credentials file."""
    folder = runner.sandbox_dir(state_dir)
    creds = json.loads((folder / "credentials.json").read_text())
    return sandbox_connection(creds, folder / creds["ca_file"])


def apply_changes(control: SandboxControl, watermark: datetime | None) -> dict[str, int] | None:
    """A day in the org, once: creates, late tied updates, soft and hard deletes, a formula input, a new field.

    Returns what was done, or None when this org already had its day.
    """
    if any(r.get("Name", "").startswith(MARKER) for r in control.truth("Account", ["Name"])):
        return None
    accounts = sorted(control.ids("Account"))
    done = {
        "created": len(control.create("Account", [{"Name": f"{MARKER} {i}", "Region__c": "NA"} for i in range(25)]))
    }
    # Committed late: stamped 30 s behind the last watermark (inside the lookback), 40 of them on one stamp.
    late = (watermark or control.now()) - timedelta(seconds=30)
    control.update("Account", [{"Id": i, "Rating": "Hot"} for i in accounts[:40]], modstamp=late)
    done["late_tied_updates"] = 40
    control.delete("Account", accounts[40:50])
    done["soft_deleted"] = 10
    done["hard_deleted"] = control.purge("Account", accounts[50:55])
    parents = sorted({r["AccountId"] for r in control.truth("Contact", ["AccountId"]) if r["AccountId"]})[:5]
    control.update("Account", [{"Id": p, "Name": f"Renamed {i} GmbH"} for i, p in enumerate(parents)])
    done["renamed_parents"] = len(parents)  # the contacts' Account_Name__c formula changes, not their stamps
    control.add_field("Account", NEW_FIELD, value="SMB")
    done["new_field_values"] = len(accounts)
    control.advance(120)  # past the pipelines' safety lag
    return done
