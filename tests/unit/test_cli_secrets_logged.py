"""Why docs/protection/secure-defaults.md says not to pass secrets to ``airflow connections add``: Airflow's CLI
stores the command line in the metadata DB's ``log`` table. It masks ``--conn-password``, a URI's password and
the sensitive top-level keys of ``--conn-json``, but not ``--conn-extra``, a URI's query extras or an extra
nested in ``--conn-json``."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path


def test_the_cli_log_keeps_secrets_in_extras(airflow_db: None) -> None:
    from airflow.models.log import Log
    from airflow.utils.session import create_session

    masked = {name: secrets.token_hex(12) for name in ("password", "uri_password", "json_password")}
    kept = {name: secrets.token_hex(12) for name in ("extra_token", "uri_query_secret", "json_extra_secret")}
    airflow = Path(sys.executable).with_name("airflow")
    commands = {
        "cli_extra": [
            "--conn-type",
            "http",
            "--conn-password",
            masked["password"],
            "--conn-extra",
            json.dumps({"token": kept["extra_token"]}),
        ],
        "cli_uri": [
            "--conn-uri",
            f"http://user:{masked['uri_password']}@api.example.com:443/?client_secret={kept['uri_query_secret']}",
        ],
        "cli_json": [
            "--conn-json",
            json.dumps(
                {
                    "conn_type": "http",
                    "password": masked["json_password"],
                    "extra": {"client_secret": kept["json_extra_secret"]},
                }
            ),
        ],
    }
    for conn_id, args in commands.items():
        subprocess.run(
            [str(airflow), "connections", "add", conn_id, *args], check=True, capture_output=True, env=dict(os.environ)
        )
    with create_session() as session:
        rows = session.query(Log).filter(Log.event == "cli_connections_add").all()
        logged = " ".join(str(row.extra) for row in rows)
    assert [n for n, v in masked.items() if v in logged] == []
    assert [n for n, v in kept.items() if v in logged] == list(kept), "stored in the log table as typed"
