"""The local UI's roles and users (FAB auth manager), with generated passwords; prints the logins.

- the pipeline roles (``lumina_<domain>_viewer`` / ``_operator``, see docs/protection/access.md), created
  before the dag-processor parses the DAGs that name them;
- ``admin`` (Admin), ``crm_analyst`` (lumina_crm_viewer: sees the crm DAGs only, runs none) and
  ``itsm_operator`` (lumina_itsm_operator: sees and triggers the itsm DAGs only).

Passwords are random, kept in ``$LUMINA_STATE_DIR/ui_users.json`` (0600, outside git) and reused on the next
``make ui``; a user whose password is not in that file gets a new one. Nothing is passed on a command line.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

from lumina_integration.protection.access_roles import ensure_roles, pipeline_roles

USERS = {"admin": "Admin", "crm_analyst": "lumina_crm_viewer", "itsm_operator": "lumina_itsm_operator"}
path = Path(os.environ["LUMINA_STATE_DIR"]) / "ui_users.json"
passwords: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}

with get_application_builder() as appbuilder:
    sm = appbuilder.sm
    ensure_roles(sm, pipeline_roles())
    for user, role_name in USERS.items():
        role = sm.find_role(role_name)
        found = sm.find_user(username=user)
        if found is None:
            passwords[user] = secrets.token_urlsafe(15)
            sm.add_user(user, user, "lumina", f"{user}@example.invalid", role, passwords[user])
        elif user not in passwords:
            passwords[user] = secrets.token_urlsafe(15)
            sm.reset_password(found.id, passwords[user])

# Created private, then written: the passwords never sit in a world-readable file.
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.fchmod(fd, 0o600)
with os.fdopen(fd, "w") as out:
    json.dump(passwords, out, indent=1)
for user, role_name in USERS.items():
    print(f"  {user:<14} {role_name:<22} {passwords[user]}")
print(f"(passwords in {path}, mode 0600)")
