"""The JSON Jira returns for issues, users, comments, worklogs and changelog histories.

``Renderer`` is made per request: REST v3 gives ADF bodies, v2 and Data Center give text (the sandbox flattens
ADF to plain text where the real v2 gives wiki markup); Data Center users have ``name``/``key`` where Cloud users
have ``accountId``; datetimes are in the calling user's time zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from lumina_sandbox.jira import adf, reference
from lumina_sandbox.jira.catalog import Catalog, FieldDef
from lumina_sandbox.jira.reference import User
from lumina_sandbox.jira.times import jira_text

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
# Columns of an issue row as the search and issue reads select them.
ISSUE_COLUMNS = "id, project, num, created, updated, data"
SUBFIELD_LIMIT = 20  # comments/worklogs shown inside an issue's fields (the rest through their endpoints)


def time_spent(seconds: int) -> str:
    """Jira's duration text with its default 8-hour days and 5-day weeks (``1w 2d 3h 20m``)."""
    minutes = max(seconds, 0) // 60
    parts = []
    for unit, size in (("w", 5 * 8 * 60), ("d", 8 * 60), ("h", 60), ("m", 1)):
        if minutes >= size:
            parts.append(f"{minutes // size}{unit}")
            minutes %= size
    return " ".join(parts) or "0m"


@dataclass
class Renderer:
    base_url: str
    api: int  # 2 or 3
    cloud: bool
    users: dict[str, User]
    catalog: Catalog
    zone: str = "UTC"

    @property
    def rest(self) -> str:
        return f"{self.base_url}/rest/api/{self.api}"

    def when(self, value: int | None) -> str | None:
        return jira_text(value, self.zone)

    def body(self, value: Any) -> Any:
        """An ADF body as this API version shows it (v3: ADF; v2 and Data Center: text)."""
        if value is None:
            return None
        return value if self.api == 3 and self.cloud else adf.to_text(value)

    # -- users and named values --------------------------------------------------------------------------------

    def user(self, account_id: str | None) -> dict[str, Any] | None:
        if account_id is None:
            return None
        found = self.users.get(account_id)
        if found is None:
            return None
        avatars = {
            size: f"{self.base_url}/secure/useravatar?size={size}&ownerId={found.name}"
            for size in ("48x48", "24x24", "16x16", "32x32")
        }
        if not self.cloud:
            return {
                "self": f"{self.rest}/user?username={found.name}",
                "name": found.name,
                "key": found.name,
                "emailAddress": found.email,
                "avatarUrls": avatars,
                "displayName": found.display_name,
                "active": found.active,
                "timeZone": found.time_zone,
            }
        return {
            "self": f"{self.rest}/user?accountId={found.account_id}",
            "accountId": found.account_id,
            "emailAddress": found.email,
            "avatarUrls": avatars,
            "displayName": found.display_name,
            "active": found.active,
            "timeZone": found.time_zone,
            "accountType": "atlassian",
        }

    def project(self, key: str) -> dict[str, Any]:
        pid, pkey, name = next(p for p in reference.PROJECTS if p[1] == key)
        return {
            "self": f"{self.rest}/project/{pid}",
            "id": pid,
            "key": pkey,
            "name": name,
            "projectTypeKey": "software",
            "simplified": False,
            "avatarUrls": {
                "48x48": f"{self.base_url}/rest/api/{self.api}/universal_avatar/view/type/project/avatar/{pid}"
            },
        }

    def status(self, name: str) -> dict[str, Any]:
        sid, cid, ckey, colour, cname = reference.STATUSES[name]
        return {
            "self": f"{self.rest}/status/{sid}",
            "description": "",
            "iconUrl": f"{self.base_url}/images/icons/statuses/generic.png",
            "name": name,
            "id": sid,
            "statusCategory": {
                "self": f"{self.rest}/statuscategory/{cid}",
                "id": cid,
                "key": ckey,
                "colorName": colour,
                "name": cname,
            },
        }

    def issuetype(self, name: str) -> dict[str, Any]:
        tid = reference.ISSUE_TYPES[name]
        return {
            "self": f"{self.rest}/issuetype/{tid}",
            "id": tid,
            "description": "",
            "iconUrl": f"{self.base_url}/rest/api/2/universal_avatar/view/type/issuetype/avatar/{tid}",
            "name": name,
            "subtask": name == "Subtask",
            "hierarchyLevel": -1 if name == "Subtask" else (1 if name == "Epic" else 0),
        }

    def priority(self, name: str | None) -> dict[str, Any] | None:
        if name is None:
            return None
        pid = reference.PRIORITIES[name]
        return {
            "self": f"{self.rest}/priority/{pid}",
            "iconUrl": f"{self.base_url}/images/icons/priorities/{name.lower()}.svg",
            "name": name,
            "id": pid,
        }

    def resolution(self, name: str | None) -> dict[str, Any] | None:
        if name is None:
            return None
        rid = reference.RESOLUTIONS[name]
        return {"self": f"{self.rest}/resolution/{rid}", "id": rid, "description": "", "name": name}

    def custom(self, definition: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        schema_type = (definition.schema or {}).get("type")
        if schema_type == "option":
            options: dict[str, str] = definition.extra.get("options") or reference.TEAM_OPTIONS
            oid = options.get(str(value), "")
            return {"self": f"{self.rest}/customFieldOption/{oid}", "value": value, "id": oid}
        if schema_type == "user":
            return self.user(str(value))
        if schema_type == "datetime":
            return self.when(int(value))
        return value

    # -- issues ------------------------------------------------------------------------------------------------

    def issue(
        self,
        row: tuple[Any, ...],
        fields: Iterable[str],
        comments: Callable[[int], dict[str, Any]] | None = None,
        worklogs: Callable[[int], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """An issue (``row``: ``ISSUE_COLUMNS``) with the ``fields`` named (ids of the catalogue)."""
        issue_id, project, num, created, updated, data_text = row
        data = orjson.loads(data_text)
        out: dict[str, Any] = {
            "expand": ISSUE_EXPAND,
            "id": str(issue_id),
            "self": f"{self.rest}/issue/{issue_id}",
            "key": f"{project}-{num}",
        }
        values: dict[str, Any] = {}
        for name in fields:
            values[name] = self._field(name, issue_id, project, created, updated, data, comments, worklogs)
        if values:
            out["fields"] = values
        return out

    def _field(
        self,
        name: str,
        issue_id: int,
        project: str,
        created: int,
        updated: int,
        data: dict[str, Any],
        comments: Callable[[int], dict[str, Any]] | None,
        worklogs: Callable[[int], dict[str, Any]] | None,
    ) -> Any:
        if name == "created":
            return self.when(created)
        if name == "updated":
            return self.when(updated)
        if name == "project":
            return self.project(project)
        if name == "status":
            return self.status(data["status"])
        if name == "issuetype":
            return self.issuetype(data["issuetype"])
        if name == "priority":
            return self.priority(data.get("priority"))
        if name == "resolution":
            return self.resolution(data.get("resolution"))
        if name in ("assignee", "reporter", "creator"):
            return self.user(data.get(name))
        if name == "description":
            return self.body(data.get("description"))
        if name == "resolutiondate":
            return self.when(data.get("resolutiondate"))
        if name == "comment":
            return comments(issue_id) if comments is not None else None
        if name == "worklog":
            return worklogs(issue_id) if worklogs is not None else None
        definition = self.catalog.get(name)
        if definition is not None and definition.custom:
            return self.custom(definition, data.get(name))
        return data.get(name)

    # -- comments, worklogs, histories -------------------------------------------------------------------------

    def comment(self, row: tuple[Any, ...]) -> dict[str, Any]:
        """A comment (``row``: id, issue_id, created, updated, author, update_author, body, visibility)."""
        cid, issue_id, created, updated, author, update_author, body, visibility = row
        out = {
            "self": f"{self.rest}/issue/{issue_id}/comment/{cid}",
            "id": str(cid),
            "author": self.user(author),
            "body": self.body(orjson.loads(body)),
            "updateAuthor": self.user(update_author),
            "created": self.when(created),
            "updated": self.when(updated),
        }
        if visibility is not None:
            out["visibility"] = orjson.loads(visibility)  # {"type": "role"|"group", "value", "identifier"}
        if self.cloud:
            out["jsdPublic"] = True
        return out

    def worklog(self, row: tuple[Any, ...]) -> dict[str, Any]:
        """A worklog (``row``: id, issue_id, started, created, updated, author, update_author, seconds, comment)."""
        wid, issue_id, started, created, updated, author, update_author, seconds, comment = row
        out: dict[str, Any] = {
            "self": f"{self.rest}/issue/{issue_id}/worklog/{wid}",
            "author": self.user(author),
            "updateAuthor": self.user(update_author),
        }
        if comment is not None:
            out["comment"] = self.body(orjson.loads(comment))
        out.update(
            created=self.when(created),
            updated=self.when(updated),
            started=self.when(started),
            timeSpent=time_spent(seconds),
            timeSpentSeconds=seconds,
            id=str(wid),
            issueId=str(issue_id),
        )
        return out

    def history(self, row: tuple[Any, ...]) -> dict[str, Any]:
        """A changelog history (``row``: id, created, author, items)."""
        hid, created, author, items = row
        return {
            "id": str(hid),
            "author": self.user(author),
            "created": self.when(created),
            "items": orjson.loads(items),
        }
