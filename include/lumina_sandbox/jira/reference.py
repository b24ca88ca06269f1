"""The site's reference data: projects, issue types, statuses, priorities, resolutions, users, select options.

Stored issues name these by name (users by account id); ``render`` turns a name into the object Jira returns.
Ids follow a fresh Jira Cloud site's numbering.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from typing import Any

PROJECTS = [("10000", "ENG", "Engineering"), ("10001", "OPS", "Operations"), ("10002", "WEB", "Web Platform")]
ISSUE_TYPES = {"Epic": "10000", "Task": "10001", "Story": "10002", "Bug": "10004", "Subtask": "10003"}
# name -> (id, category id, category key, colour, category name)
STATUSES = {
    "To Do": ("10000", 2, "new", "blue-gray", "To Do"),
    "In Progress": ("3", 4, "indeterminate", "yellow", "In Progress"),
    "In Review": ("10001", 4, "indeterminate", "yellow", "In Progress"),
    "Done": ("10002", 3, "done", "green", "Done"),
}
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
RESOLUTIONS = {"Done": "10000", "Won't Do": "10001", "Duplicate": "10002"}
TEAM_OPTIONS = {"Platform": "10100", "Payments": "10101", "Mobile": "10102", "Data": "10103", "Süd-Ost 🚀": "10104"}
FIRST_NAMES = [
    "Ana",
    "Björn",
    "Chloé",
    "Dmitri",
    "Eun-ji",
    "Farah",
    "Giulia",
    "Hiroshi",
    "Ines",
    "José",
    "Kwame",
    "Lena",
]
LAST_NAMES = [
    "Okafor",
    "Müller",
    "Dubois",
    "Ivanova",
    "Kim",
    "Haddad",
    "Rossi",
    "Tanaka",
    "García",
    "Nowak",
    "Ødegaard",
]


@dataclass(frozen=True)
class User:
    account_id: str
    display_name: str
    email: str
    name: str  # the Data Center user name (and key)
    active: bool = True
    time_zone: str = "UTC"


def make_users(seed: int, count: int = 24) -> list[User]:
    """Deterministic users; the first is the integration user the credentials belong to."""
    rng = random.Random(f"users:{seed}")
    users = [
        User(
            f"712020:{rng.getrandbits(128):032x}"[:43],
            "Lumina Integration",
            "lumina.integration@example.com",
            "lumina.integration",
        )
    ]
    taken = {"lumina.integration"}
    while len(users) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        login = unicodedata.normalize("NFKD", f"{first}.{last}".lower()).encode("ascii", "ignore").decode()
        login = login.replace(" ", "").replace("-", "")
        if login in taken:
            continue
        taken.add(login)
        users.append(User(f"{rng.getrandbits(96):024x}", f"{first} {last}", f"{login}@example.com", login))
    return users


def project_by(value: str) -> tuple[str, str, str] | None:
    """The project a JQL value names: its key, id or name (case-insensitively)."""
    wanted = value.strip().lower()
    for project in PROJECTS:
        if wanted in (project[0], project[1].lower(), project[2].lower()):
            return project
    return None


def named(kind: str) -> dict[str, Any]:
    """The name -> id table of a named field (status, issuetype, priority, resolution)."""
    tables: dict[str, dict[str, Any]] = {
        "status": {k: v[0] for k, v in STATUSES.items()},
        "issuetype": ISSUE_TYPES,
        "priority": PRIORITIES,
        "resolution": RESOLUTIONS,
    }
    return tables[kind]
