"""The Jira part of ``make demo``: the sandbox site, its Airflow connection, a scripted day of changes.

The sandbox runs detached and keeps its site between demos; the day of changes is applied once per site (a
marker issue tells), so running the demo again loads nothing new.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lumina_sandbox.jira import adf, runner
from lumina_sandbox.jira.connection import airflow_connection as sandbox_connection
from lumina_sandbox.jira.control import JiraControl

CONN_ID = "jira_default"
DEMO_COUNTS = {"issues": 3000}
MARKER = "Demo delta issue"
NEW_FIELD = ("Customer impact", "option", ["Low", "Medium", "High"])


def start(state_dir: Path, auth: str = "basic") -> JiraControl:
    """Start the sandbox (or reuse the running one) and register its connection in Airflow."""
    from lumina_integration.settings import save_connections

    runner.start(runner.DEFAULT_PORT, state_dir, 7, DEMO_COUNTS)
    control = JiraControl.from_state_dir(state_dir)
    connection = airflow_connection(state_dir, auth)
    save_connections({CONN_ID: connection})
    # dag.test() in this process reads the same connection from the environment first.
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(connection)
    return control


def airflow_connection(state_dir: Path, auth: str = "basic") -> dict[str, Any]:
    """The ``jira`` connection to the sandbox, from its private credentials file."""
    folder = runner.sandbox_dir(state_dir)
    creds = json.loads((folder / "credentials.json").read_text())
    return sandbox_connection(creds, folder / creds["ca_file"], auth=auth)


def apply_changes(control: JiraControl, watermark: datetime | None) -> dict[str, int] | None:
    """A day on the site, once: new issues, late updates tied on one minute, comments with mentions, worklogs
    (one deleted), an issue with more changelog than one inline page, deleted issues (no feed shows them: the
    reconcile DAG finds them), a custom field added mid-life. Returns what was done, or None when this site
    already had its day."""
    truth = control.truth("issues")
    if any(str(r.get("summary") or "").startswith(MARKER) for r in truth):
        return None
    me = control.credentials()["account_id"]
    keys = [r["key"] for r in sorted(truth, key=lambda r: int(r["id"]))]
    made = control.create_issues([{"project": "ENG", "summary": f"{MARKER} {i} — Größe ✓"} for i in range(20)])
    done = {"created": len(made)}
    # Committed late: stamped 30 s behind the last watermark (inside the lookback), 30 of them in one minute.
    late = (watermark or control.now()) - timedelta(seconds=30)
    done["late_tied_updates"] = control.update_issues(
        [{"key": key, "status": "In Review"} for key in keys[:30]], stamp=late
    )
    body = adf.doc(adf.paragraph("Bitte prüfen ", adf.mention(me, "Lumina Integration"), " — 確認お願いします 🙏"))
    done["comments"] = len([control.add_comment(key, body) for key in keys[30:45]])
    worklogs = [control.add_worklog(key, 2700, comment="Pairing — Analyse") for key in keys[45:55]]
    done["worklogs"] = len(worklogs)
    done["worklogs_deleted"] = control.delete_worklog(worklogs[0])
    busy = keys[55]
    for round_ in range(120):  # 120 more histories: past the 100 that expand=changelog shows inline
        control.update_issues([{"key": busy, "customfield_10010": float(round_ % 13 + 1)}])
    done["busy_issue_histories"] = 120
    done["deleted_issues"] = control.delete_issues(keys[60:68])
    field = control.add_field(NEW_FIELD[0], NEW_FIELD[1], options=NEW_FIELD[2])
    control.update_issues([{"key": key, field["id"]: "High"} for key in keys[68:80]])
    done["new_field_values"] = 12
    control.advance(120)  # past the pipelines' safety lag and the worklog feed's last minute
    return done
