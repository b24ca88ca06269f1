"""The write path: issues, comments and worklogs created, changed and deleted as Jira does it.

An issue change writes a changelog history (one item per changed field, Jira's ``field``/``fieldtype``/
``fieldId``/``from``/``fromString``/``to``/``toString``) and moves ``updated``; adding, editing or deleting a
comment or worklog moves the issue's ``updated`` too. ``touch=False`` changes values silently (a data fix that
leaves ``updated`` and the changelog alone). A deleted issue vanishes with its histories, comments and
worklogs (Jira has no deleted-issue feed); a deleted worklog is listed by ``/worklog/deleted``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import orjson

from lumina_sandbox.common.clock import SandboxClock
from lumina_sandbox.jira import adf, reference
from lumina_sandbox.jira.catalog import Catalog
from lumina_sandbox.jira.reference import User
from lumina_sandbox.jira.store import Store
from lumina_sandbox.jira.times import to_ms

NAMED = ("status", "issuetype", "priority", "resolution")
USERS = ("assignee", "reporter", "creator")
SYSTEM_VALUES = {"summary", "description", "labels", "duedate", "resolutiondate", *NAMED, *USERS}


class Writer:
    def __init__(self, store: Store, catalog: Catalog, clock: SandboxClock, users: list[User]) -> None:
        self.store = store
        self.catalog = catalog
        self.clock = clock
        self.users = {u.account_id: u for u in users}
        self.me = users[0].account_id
        self._ids = {"issues": 10000, "histories": 10000, "comments": 10000, "worklogs": 10000}
        self._numbers: dict[str, int] = {p[1]: 0 for p in reference.PROJECTS}
        self._lock = threading.Lock()
        self.deleted: dict[str, set[int]] = {"issues": set(), "comments": set(), "worklogs": set()}

    # -- ids -----------------------------------------------------------------------------------------------------

    def next_ids(self, kind: str, count: int = 1) -> range:
        with self._lock:
            start = self._ids[kind]
            self._ids[kind] = start + count
        return range(start, start + count)

    def next_number(self, project: str) -> int:
        with self._lock:
            self._numbers[project] += 1
            return self._numbers[project]

    def stamp_ms(self, stamp: Any) -> int:
        return to_ms(stamp) if stamp is not None else to_ms(self.clock.now())

    # -- values --------------------------------------------------------------------------------------------------

    def clean(self, values: dict[str, Any]) -> dict[str, Any]:
        """Field values checked against the catalogue and reference data (ADF or text for bodies)."""
        out: dict[str, Any] = {}
        for name, value in values.items():
            if name == "project":
                continue
            definition = self.catalog.get(name)
            if definition is None or (name not in SYSTEM_VALUES and not definition.custom):
                raise ValueError(f"unknown or read-only field {name!r}")
            if name in NAMED and value is not None and value not in reference.named(name):
                raise ValueError(f"{name} {value!r} does not exist")
            if name in USERS and value is not None and value not in self.users:
                raise ValueError(f"no user with account id {value!r}")
            if name == "description" and isinstance(value, str):
                value = adf.text_doc(value)
            out[name] = value
        return out

    def text_of(self, name: str, value: Any) -> tuple[Any, Any]:
        """(raw, display) of a value in a changelog item."""
        if value is None:
            return None, None
        if name in NAMED:
            return str(reference.named(name)[value]), value
        if name in USERS:
            return value, self.users[value].display_name
        if name == "description":
            return None, adf.to_text(value)
        if name == "labels":
            return None, " ".join(value)
        definition = self.catalog.get(name)
        if definition is not None and (definition.schema or {}).get("type") == "option":
            return None, str(value)
        return None, str(value) if not isinstance(value, float) or not value.is_integer() else str(int(value))

    def items(self, before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for name, value in after.items():
            old = before.get(name)
            if old == value:
                continue
            definition = self.catalog.get(name)
            custom = bool(definition and definition.custom)
            old_raw, old_text = self.text_of(name, old)
            new_raw, new_text = self.text_of(name, value)
            item: dict[str, Any] = {
                "field": definition.name if custom and definition else name,
                "fieldtype": "custom" if custom else "jira",
                "fieldId": name,
                "from": old_raw,
                "fromString": old_text,
                "to": new_raw,
                "toString": new_text,
            }
            if name in USERS:
                item["tmpFromAccountId"], item["tmpToAccountId"] = old, value
            out.append(item)
        return out

    # -- issues --------------------------------------------------------------------------------------------------

    def find(self, id_or_key: str | int) -> tuple[int, dict[str, Any]] | None:
        """(id, data) of a live issue given its id or key."""
        text = str(id_or_key)
        if text.isdigit():
            rows = self.store.query("SELECT id, data FROM issues WHERE id = ?", (int(text),))
        else:
            project, _, number = text.rpartition("-")
            if not number.isdigit():
                return None
            rows = self.store.query("SELECT id, data FROM issues WHERE project = ? AND num = ?", (project, int(number)))
        return (int(rows[0][0]), orjson.loads(rows[0][1])) if rows else None

    def create_issue(self, values: dict[str, Any], stamp: Any = None) -> dict[str, str]:
        project = reference.project_by(str(values.get("project", "ENG")))
        if project is None:
            raise ValueError(f"project {values.get('project')!r} does not exist")
        data: dict[str, Any] = {
            "summary": "",
            "issuetype": "Task",
            "status": "To Do",
            "priority": "Medium",
            "resolution": None,
            "assignee": None,
            "reporter": self.me,
            "creator": self.me,
            "labels": [],
            **self.clean(values),
        }
        moment = self.stamp_ms(stamp)
        (issue_id,) = self.next_ids("issues")
        number = self.next_number(project[1])
        self.store.insert(
            "issues",
            ("id", "project", "num", "created", "updated", "data"),
            [(issue_id, project[1], number, moment, moment, orjson.dumps(data).decode())],
        )
        return {"id": str(issue_id), "key": f"{project[1]}-{number}"}

    def update_issue(
        self,
        id_or_key: str | int,
        values: dict[str, Any],
        stamp: Any = None,
        touch: bool = True,
        author: str | None = None,
    ) -> bool:
        with self.store.lock:
            found = self.find(id_or_key)
            if found is None:
                return False
            issue_id, data = found
            changes = self.clean(values)
            items = self.items(data, changes)
            data.update(changes)
            moment = self.stamp_ms(stamp)
            if touch:
                self.store.execute(
                    "UPDATE issues SET data = ?, updated = ? WHERE id = ?",
                    (orjson.dumps(data).decode(), moment, issue_id),
                )
                if items:
                    (history_id,) = self.next_ids("histories")
                    self.store.insert(
                        "histories",
                        ("id", "issue_id", "created", "author", "items"),
                        [(history_id, issue_id, moment, author or self.me, orjson.dumps(items).decode())],
                    )
            else:
                self.store.execute("UPDATE issues SET data = ? WHERE id = ?", (orjson.dumps(data).decode(), issue_id))
            return True

    def touch(self, issue_id: int, moment: int) -> None:
        self.store.execute("UPDATE issues SET updated = MAX(updated, ?) WHERE id = ?", (moment, issue_id))

    def delete_issues(self, ids_or_keys: Iterable[str | int]) -> int:
        removed = 0
        with self.store.lock:
            for value in ids_or_keys:
                found = self.find(value)
                if found is None:
                    continue
                issue_id = found[0]
                for table, kind in (("comments", "comments"), ("worklogs", "worklogs")):
                    gone = {r[0] for r in self.store.query(f"SELECT id FROM {table} WHERE issue_id = ?", (issue_id,))}
                    self.deleted[kind] |= gone
                    self.store.execute(f"DELETE FROM {table} WHERE issue_id = ?", (issue_id,))
                self.store.execute("DELETE FROM histories WHERE issue_id = ?", (issue_id,))
                self.store.execute("DELETE FROM issues WHERE id = ?", (issue_id,))
                self.deleted["issues"].add(issue_id)
                removed += 1
        return removed

    # -- comments and worklogs -----------------------------------------------------------------------------------

    def _issue_id(self, id_or_key: str | int) -> int:
        found = self.find(id_or_key)
        if found is None:
            raise KeyError(f"no issue {id_or_key}")
        return found[0]

    def add_comment(
        self,
        id_or_key: str | int,
        body: Any,
        stamp: Any = None,
        author: str | None = None,
        visibility: dict[str, str] | None = None,
    ) -> str:
        """Comment on an issue; ``visibility`` restricts it (``{"type": "role", "value": "Developers"}``)."""
        with self.store.lock:
            issue_id = self._issue_id(id_or_key)
            moment = self.stamp_ms(stamp)
            (comment_id,) = self.next_ids("comments")
            who = author or self.me
            document = adf.text_doc(body) if isinstance(body, str) else body
            shown: str | None = None
            if visibility is not None:
                if set(visibility) - {"type", "value", "identifier"} or visibility.get("type") not in ("role", "group"):
                    raise ValueError("visibility is {'type': 'role'|'group', 'value': name}")
                restriction = {**visibility, "identifier": visibility.get("identifier", visibility["value"])}
                shown = orjson.dumps(restriction).decode()
            self.store.insert(
                "comments",
                ("id", "issue_id", "created", "updated", "author", "update_author", "body", "visibility"),
                [(comment_id, issue_id, moment, moment, who, who, orjson.dumps(document).decode(), shown)],
            )
            self.touch(issue_id, moment)
            return str(comment_id)

    def update_comment(self, comment_id: int, body: Any, stamp: Any = None) -> bool:
        with self.store.lock:
            rows = self.store.query("SELECT issue_id FROM comments WHERE id = ?", (int(comment_id),))
            if not rows:
                return False
            moment = self.stamp_ms(stamp)
            document = adf.text_doc(body) if isinstance(body, str) else body
            self.store.execute(
                "UPDATE comments SET body = ?, updated = ?, update_author = ? WHERE id = ?",
                (orjson.dumps(document).decode(), moment, self.me, int(comment_id)),
            )
            self.touch(int(rows[0][0]), moment)
            return True

    def delete_comment(self, comment_id: int, stamp: Any = None) -> bool:
        with self.store.lock:
            rows = self.store.query("SELECT issue_id FROM comments WHERE id = ?", (int(comment_id),))
            if not rows:
                return False
            self.store.execute("DELETE FROM comments WHERE id = ?", (int(comment_id),))
            self.deleted["comments"].add(int(comment_id))
            self.touch(int(rows[0][0]), self.stamp_ms(stamp))
            return True

    def add_worklog(
        self, id_or_key: str | int, seconds: int, started: Any = None, comment: Any = None, stamp: Any = None
    ) -> str:
        with self.store.lock:
            issue_id = self._issue_id(id_or_key)
            moment = self.stamp_ms(stamp)
            (worklog_id,) = self.next_ids("worklogs")
            body = adf.text_doc(comment) if isinstance(comment, str) else comment
            self.store.insert(
                "worklogs",
                ("id", "issue_id", "started", "created", "updated", "author", "update_author", "seconds", "comment"),
                [
                    (
                        worklog_id,
                        issue_id,
                        self.stamp_ms(started) if started is not None else moment,
                        moment,
                        moment,
                        self.me,
                        self.me,
                        int(seconds),
                        orjson.dumps(body).decode() if body is not None else None,
                    )
                ],
            )
            self.touch(issue_id, moment)
            return str(worklog_id)

    def update_worklog(
        self, worklog_id: int, seconds: int | None = None, comment: Any = None, stamp: Any = None
    ) -> bool:
        with self.store.lock:
            rows = self.store.query("SELECT issue_id FROM worklogs WHERE id = ?", (int(worklog_id),))
            if not rows:
                return False
            moment = self.stamp_ms(stamp)
            if seconds is not None:
                self.store.execute("UPDATE worklogs SET seconds = ? WHERE id = ?", (int(seconds), int(worklog_id)))
            if comment is not None:
                body = adf.text_doc(comment) if isinstance(comment, str) else comment
                self.store.execute(
                    "UPDATE worklogs SET comment = ? WHERE id = ?", (orjson.dumps(body).decode(), int(worklog_id))
                )
            self.store.execute(
                "UPDATE worklogs SET updated = ?, update_author = ? WHERE id = ?", (moment, self.me, int(worklog_id))
            )
            self.touch(int(rows[0][0]), moment)
            return True

    def delete_worklog(self, worklog_id: int, stamp: Any = None) -> bool:
        with self.store.lock:
            rows = self.store.query("SELECT issue_id FROM worklogs WHERE id = ?", (int(worklog_id),))
            if not rows:
                return False
            moment = self.stamp_ms(stamp)
            self.store.execute("DELETE FROM worklogs WHERE id = ?", (int(worklog_id),))
            self.store.insert("worklog_deletions", ("id", "deleted"), [(int(worklog_id), moment)])
            self.deleted["worklogs"].add(int(worklog_id))
            self.touch(int(rows[0][0]), moment)
            return True
