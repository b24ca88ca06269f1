"""Make sure the local Airflow UI has an admin password, and print it.

Airflow's SimpleAuthManager keeps passwords in a plaintext file in AIRFLOW_HOME (it is a
development-only auth manager). Creating the entry ourselves, with a random password, lets
`make ui` tell the user how to log in before the server starts.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

path = Path(os.environ["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
passwords = json.loads(path.read_text()) if path.exists() and path.read_text().strip() else {}
if "admin" not in passwords:
    passwords["admin"] = secrets.token_urlsafe(12)
    path.write_text(json.dumps(passwords) + "\n")
    path.chmod(0o600)
print(f"Log in as admin / {passwords['admin']}  (stored in {path.name} in the Airflow home)")
