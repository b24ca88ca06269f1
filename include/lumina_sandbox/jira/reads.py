"""The REST reads: JQL search (Cloud's ``/search/jql`` with ``nextPageToken``, Data Center's ``/search`` with
``startAt``/``total``), single issues, and the paged changelog, comment and worklog lists and worklog feeds.

Page sizes: search pages hold ``maxResults`` (default 50) issues, at most ``Instance.max_results`` (100) when
fields are asked for and 5,000 for ids/keys only (Cloud); changelog pages at most 100; comment and worklog
pages 5,000 (Jira's defaults); ``/worklog/updated`` and ``/worklog/deleted`` 1,000 per page, oldest first,
never the last minute's changes (Jira leaves them out); ``/worklog/list`` takes up to 1,000 ids.
"""

from __future__ import annotations

from typing import Any

from lumina_sandbox.jira import jql
from lumina_sandbox.jira.errors import UNBOUNDED, JiraError, bad_request, issue_not_found
from lumina_sandbox.jira.instance import Instance
from lumina_sandbox.jira.render import ISSUE_COLUMNS, SUBFIELD_LIMIT, Renderer
from lumina_sandbox.jira.times import MINUTE_MS

DEFAULT_MAX = 50
ID_ONLY_MAX = 5000
CHANGELOG_MAX = 100
CHILD_MAX = 5000
FEED_PAGE = 1000
COMMENT_COLUMNS = "id, issue_id, created, updated, author, update_author, body, visibility"
WORKLOG_COLUMNS = "id, issue_id, started, created, updated, author, update_author, seconds, comment"
HISTORY_COLUMNS = "id, created, author, items"


def renderer(instance: Instance, api: int) -> Renderer:
    users = {u.account_id: u for u in instance.users}
    return Renderer(instance.base_url, api, instance.cloud, users, instance.catalog, instance.time_zone)


def integer(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"The value '{value}' of '{name}' is not a number.") from None


def split(values: Any) -> list[str]:
    """A fields/expand value given as a list, a comma-separated string, or repeated parameters."""
    if values is None:
        return []
    items = values if isinstance(values, list) else [values]
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def selected_fields(instance: Instance, asked: list[str], default: str) -> list[str]:
    """The field ids ``fields`` names: ``*all``, ``*navigable``, ids, ``-id`` exclusions (unknown ids ignored, as
    Jira does); ``id``/``key`` are top-level properties, not fields."""
    names = asked or [default]
    known = instance.catalog.ids()
    chosen: list[str] = []
    navigable = {f.id for f in instance.catalog.all() if f.navigable}
    for name in names:
        if name in ("*all", "*navigable"):
            chosen.extend(
                f for f in known if f != "issuekey" and f not in chosen and (name == "*all" or f in navigable)
            )
        elif not name.startswith("-") and name in known and name != "issuekey" and name not in chosen:
            chosen.append(name)
    excluded = {n[1:] for n in names if n.startswith("-")}
    return [f for f in chosen if f not in excluded]


def _children(instance: Instance, view: Renderer) -> tuple[Any, Any]:
    def comments(issue_id: int) -> dict[str, Any]:
        total = int(instance.store.scalar("SELECT COUNT(*) FROM comments WHERE issue_id = ?", (issue_id,)))
        rows = instance.store.query(
            f"SELECT {COMMENT_COLUMNS} FROM comments WHERE issue_id = ? ORDER BY created, id LIMIT ?",
            (issue_id, CHILD_MAX),
        )
        return {
            "comments": [view.comment(r) for r in rows],
            "self": f"{view.rest}/issue/{issue_id}/comment",
            "maxResults": len(rows),
            "total": total,
            "startAt": 0,
        }

    def worklogs(issue_id: int) -> dict[str, Any]:
        total = int(instance.store.scalar("SELECT COUNT(*) FROM worklogs WHERE issue_id = ?", (issue_id,)))
        rows = instance.store.query(
            f"SELECT {WORKLOG_COLUMNS} FROM worklogs WHERE issue_id = ? ORDER BY started, id LIMIT ?",
            (issue_id, SUBFIELD_LIMIT),
        )
        return {"startAt": 0, "maxResults": SUBFIELD_LIMIT, "total": total, "worklogs": [view.worklog(r) for r in rows]}

    return comments, worklogs


def inline_changelog(instance: Instance, view: Renderer, issue_id: int) -> dict[str, Any]:
    """``expand=changelog``: Cloud shows the most recent ``inline_changelog_limit`` histories (newest first) and
    the real ``total``, so an issue with more needs the changelog endpoint; Data Center shows every history."""
    total = int(instance.store.scalar("SELECT COUNT(*) FROM histories WHERE issue_id = ?", (issue_id,)))
    if instance.cloud:
        rows = instance.store.query(
            f"SELECT {HISTORY_COLUMNS} FROM histories WHERE issue_id = ? ORDER BY created DESC, id DESC LIMIT ?",
            (issue_id, instance.inline_changelog_limit),
        )
    else:
        rows = instance.store.query(
            f"SELECT {HISTORY_COLUMNS} FROM histories WHERE issue_id = ? ORDER BY created, id", (issue_id,)
        )
    return {"startAt": 0, "maxResults": len(rows), "total": total, "histories": [view.history(r) for r in rows]}


def _render(
    instance: Instance, view: Renderer, rows: list[tuple[Any, ...]], fields: list[str], expand: list[str]
) -> list[dict[str, Any]]:
    comments, worklogs = _children(instance, view)
    issues = []
    for row in rows:
        issue = view.issue(row[:6], fields, comments, worklogs)
        if "changelog" in expand:
            issue["changelog"] = inline_changelog(instance, view, int(row[0]))
        issues.append(issue)
    return issues


def names(instance: Instance, fields: list[str]) -> dict[str, str]:
    """``expand=names``: each returned field's display name (beside the issues of a search, in an issue)."""
    catalog = {f.id: f.name for f in instance.catalog.all()}
    return {f: catalog[f] for f in fields if f in catalog}


def read_jql(instance: Instance, text: str) -> jql.Query:
    def key_to_id(project: str, number: int) -> int | None:
        found = instance.store.scalar("SELECT id FROM issues WHERE project = ? AND num = ?", (project, number))
        return int(found) if found is not None else None

    site = jql.Site(instance.now_ms(), instance.time_zone, instance.me(), instance.user_id, key_to_id)
    return jql.read(text, instance.catalog, site)


def _order_sql(order: list[tuple[str, bool]]) -> str:
    return ", ".join(f"{column} {'ASC' if ascending else 'DESC'}" for column, ascending in order)


def _after(order: list[tuple[str, bool]], values: list[Any]) -> tuple[str, list[Any]]:
    """The keyset condition "after ``values`` in ``order``" (columns are never null)."""
    if len(values) != len(order):
        raise JiraError(400, "The provided next page token is invalid or expired.")
    terms, params = [], []
    for depth, (column, ascending) in enumerate(order):
        equal = [f"{c} = ?" for c, _ in order[:depth]]
        terms.append("(" + " AND ".join([*equal, f"{column} {'>' if ascending else '<'} ?"]) + ")")
        params.extend([*values[:depth], values[depth]])
    # The first column's bound again, on its own, for SQLite to seek the index with (search_jql puts it before
    # the JQL's own bounds). Without it every page scanned from the window's start: the last pages of a
    # 200k-issue read took 7x the first ones, and a 1M read slowed 3x as it went.
    first, ascending = order[0]
    seek = f"{first} {'>=' if ascending else '<='} ?"
    return "(" + seek + " AND (" + " OR ".join(terms) + "))", [values[0], *params]


def search_jql(instance: Instance, api: int, options: dict[str, Any]) -> dict[str, Any]:
    """``/rest/api/3/search/jql`` (Cloud): ``issues``, ``nextPageToken`` while more follow, ``isLast``; no total."""
    text = str(options.get("jql") or "")
    query = read_jql(instance, text)
    if not query.bounded:
        raise bad_request(UNBOUNDED)
    fields = selected_fields(instance, split(options.get("fields")), "id")
    expand = split(options.get("expand"))
    cap = ID_ONLY_MAX if not fields else instance.max_results
    limit = min(max(integer(options.get("maxResults"), "maxResults", DEFAULT_MAX), 1), cap)
    instance.run_page_hooks("issues")
    where, params = query.where, list(query.params)
    token = options.get("nextPageToken")
    if token:
        after, extra = _after(query.order, instance.tokens.read(str(token), text, instance.now_ms()))
        # The keyset first: of two lower bounds on `updated` SQLite seeks the index with the first it reads.
        where, params = f"{after} AND ({where})", extra + params
    columns = ", ".join(column for column, _ in query.order)
    rows = instance.store.query(
        f"SELECT {ISSUE_COLUMNS}, {columns} FROM issues WHERE {where} ORDER BY {_order_sql(query.order)} LIMIT ?",
        [*params, limit + 1],
    )
    more = len(rows) > limit
    rows = rows[:limit]
    view = renderer(instance, api)
    body: dict[str, Any] = {"issues": _render(instance, view, rows, fields, expand)}
    if more:
        body["nextPageToken"] = instance.tokens.issue(text, list(rows[-1][6:]), instance.now_ms())
    body["isLast"] = not more
    if "names" in expand:
        body["names"] = names(instance, fields)
    return body


def approximate_count(instance: Instance, options: dict[str, Any]) -> dict[str, Any]:
    """``POST /rest/api/3/search/approximate-count`` (Cloud): ``{"count": n}`` for a bounded JQL (exact here;
    Jira's may lag its index). ``ORDER BY`` is read and ignored."""
    query = read_jql(instance, str(options.get("jql") or ""))
    if not query.bounded:
        raise bad_request(UNBOUNDED)
    return {"count": int(instance.store.scalar(f"SELECT COUNT(*) FROM issues WHERE {query.where}", query.params))}


def search_offset(instance: Instance, api: int, options: dict[str, Any]) -> dict[str, Any]:
    """Data Center's ``/rest/api/2/search``: ``startAt``/``maxResults``/``total`` (offset paging: rows skip or
    repeat when data changes between pages, as they do there)."""
    query = read_jql(instance, str(options.get("jql") or ""))
    fields = selected_fields(instance, split(options.get("fields")), "*navigable")
    expand = split(options.get("expand"))
    start = max(integer(options.get("startAt"), "startAt", 0), 0)
    limit = min(max(integer(options.get("maxResults"), "maxResults", DEFAULT_MAX), 0), 1000)
    instance.run_page_hooks("issues")
    total = int(instance.store.scalar(f"SELECT COUNT(*) FROM issues WHERE {query.where}", query.params))
    rows = instance.store.query(
        f"SELECT {ISSUE_COLUMNS} FROM issues WHERE {query.where} ORDER BY {_order_sql(query.order)} LIMIT ? OFFSET ?",
        [*query.params, limit, start],
    )
    view = renderer(instance, api)
    return {
        "expand": "schema,names",
        "startAt": start,
        "maxResults": limit,
        "total": total,
        "issues": _render(instance, view, rows, fields, expand),
    }


def issue_row(instance: Instance, id_or_key: str) -> tuple[Any, ...]:
    found = instance.writer.find(id_or_key)
    if found is None:
        raise issue_not_found()
    rows = instance.store.query(f"SELECT {ISSUE_COLUMNS} FROM issues WHERE id = ?", (found[0],))
    if not rows:
        raise issue_not_found()
    return rows[0]


def issue(instance: Instance, api: int, id_or_key: str, options: dict[str, Any]) -> dict[str, Any]:
    row = issue_row(instance, id_or_key)
    fields = selected_fields(instance, split(options.get("fields")), "*all")
    view = renderer(instance, api)
    expand = split(options.get("expand"))
    found = _render(instance, view, [row], fields, expand)[0]
    if "names" in expand:
        found["names"] = names(instance, fields)
    return found


def changelog(instance: Instance, api: int, id_or_key: str, options: dict[str, Any]) -> dict[str, Any]:
    """``/issue/{id}/changelog``: histories oldest first, ``startAt``/``maxResults`` (<= 100)/``total``/``isLast``."""
    issue_id = int(issue_row(instance, id_or_key)[0])
    instance.run_page_hooks("changelog")
    start = max(integer(options.get("startAt"), "startAt", 0), 0)
    limit = min(max(integer(options.get("maxResults"), "maxResults", CHANGELOG_MAX), 1), CHANGELOG_MAX)
    total = int(instance.store.scalar("SELECT COUNT(*) FROM histories WHERE issue_id = ?", (issue_id,)))
    rows = instance.store.query(
        f"SELECT {HISTORY_COLUMNS} FROM histories WHERE issue_id = ? ORDER BY created, id LIMIT ? OFFSET ?",
        (issue_id, limit, start),
    )
    view = renderer(instance, api)
    last = start + len(rows) >= total
    body: dict[str, Any] = {"self": f"{view.rest}/issue/{id_or_key}/changelog?maxResults={limit}&startAt={start}"}
    if not last:
        body["nextPage"] = f"{view.rest}/issue/{id_or_key}/changelog?maxResults={limit}&startAt={start + len(rows)}"
    body.update(maxResults=limit, startAt=start, total=total, isLast=last, values=[view.history(r) for r in rows])
    return body


def comments(instance: Instance, api: int, id_or_key: str, options: dict[str, Any]) -> dict[str, Any]:
    """``/issue/{id}/comment``: ``startAt``/``maxResults`` (default 5,000)/``total``/``comments``; ``orderBy``
    ``created`` or ``-created``."""
    issue_id = int(issue_row(instance, id_or_key)[0])
    instance.run_page_hooks("comments")
    start = max(integer(options.get("startAt"), "startAt", 0), 0)
    limit = min(max(integer(options.get("maxResults"), "maxResults", CHILD_MAX), 0), CHILD_MAX)
    order = "DESC" if str(options.get("orderBy") or "").lstrip("+") == "-created" else "ASC"
    total = int(instance.store.scalar("SELECT COUNT(*) FROM comments WHERE issue_id = ?", (issue_id,)))
    rows = instance.store.query(
        f"SELECT {COMMENT_COLUMNS} FROM comments WHERE issue_id = ? ORDER BY created {order}, id {order} "
        "LIMIT ? OFFSET ?",
        (issue_id, limit, start),
    )
    view = renderer(instance, api)
    return {"startAt": start, "maxResults": limit, "total": total, "comments": [view.comment(r) for r in rows]}


def worklogs(instance: Instance, api: int, id_or_key: str, options: dict[str, Any]) -> dict[str, Any]:
    """``/issue/{id}/worklog``: ``startAt``/``maxResults`` (default 5,000)/``total``/``worklogs``, oldest started
    first; ``startedAfter``/``startedBefore`` (UNIX ms)."""
    issue_id = int(issue_row(instance, id_or_key)[0])
    instance.run_page_hooks("worklogs")
    start = max(integer(options.get("startAt"), "startAt", 0), 0)
    limit = min(max(integer(options.get("maxResults"), "maxResults", CHILD_MAX), 0), CHILD_MAX)
    where, params = "issue_id = ?", [issue_id]
    if options.get("startedAfter"):
        where, params = where + " AND started >= ?", [*params, integer(options["startedAfter"], "startedAfter", 0)]
    if options.get("startedBefore"):
        where, params = where + " AND started < ?", [*params, integer(options["startedBefore"], "startedBefore", 0)]
    total = int(instance.store.scalar(f"SELECT COUNT(*) FROM worklogs WHERE {where}", params))
    rows = instance.store.query(
        f"SELECT {WORKLOG_COLUMNS} FROM worklogs WHERE {where} ORDER BY started, id LIMIT ? OFFSET ?",
        [*params, limit, start],
    )
    view = renderer(instance, api)
    return {"startAt": start, "maxResults": limit, "total": total, "worklogs": [view.worklog(r) for r in rows]}


def worklog_feed(instance: Instance, api: int, deleted: bool, options: dict[str, Any]) -> dict[str, Any]:
    """``/worklog/updated`` or ``/worklog/deleted``: ``values`` of ``{"worklogId", "updatedTime", "properties"}``
    changed at or after ``since`` (UNIX ms), oldest first, 1,000 a page; ``until`` is the page's youngest time
    and ``nextPage`` asks ``since=<until>``, so the boundary worklog comes again on the next page (readers
    dedupe by id; nothing sharing the boundary millisecond is lost); ``lastPage``. Changes of the last minute
    are left out until it has passed."""
    since = integer(options.get("since"), "since", 0)
    horizon = instance.now_ms() - MINUTE_MS
    table, column = ("worklog_deletions", "deleted") if deleted else ("worklogs", "updated")
    rows = instance.store.query(
        f"SELECT id, {column} FROM {table} WHERE {column} >= ? AND {column} <= ? ORDER BY {column}, id LIMIT ?",
        (since, horizon, FEED_PAGE + 1),
    )
    more = len(rows) > FEED_PAGE
    rows = rows[:FEED_PAGE]
    until = int(rows[-1][1]) if rows else since
    view = renderer(instance, api)
    path = "deleted" if deleted else "updated"
    body: dict[str, Any] = {
        "values": [{"worklogId": int(r[0]), "updatedTime": int(r[1]), "properties": []} for r in rows],
        "since": since,
        "until": until,
        "self": f"{view.rest}/worklog/{path}?since={since}",
        "lastPage": not more,
    }
    if more:
        body["nextPage"] = f"{view.rest}/worklog/{path}?since={until}"
    return body


def worklog_list(instance: Instance, api: int, ids: Any) -> list[dict[str, Any]]:
    """``POST /worklog/list`` ``{"ids": [...]}``: the worklogs that exist, at most 1,000 ids."""
    if not isinstance(ids, list) or not all(isinstance(i, int | str) and str(i).isdigit() for i in ids):
        raise bad_request("ids must be a list of worklog ids.")
    if len(ids) > FEED_PAGE:
        raise bad_request(f"The number of worklog ids must not exceed {FEED_PAGE}.")
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    rows = instance.store.query(
        f"SELECT {WORKLOG_COLUMNS} FROM worklogs WHERE id IN ({marks}) ORDER BY id", [int(i) for i in ids]
    )
    view = renderer(instance, api)
    return [view.worklog(r) for r in rows]
