"""The Table API's read: ``GET /api/now/table/{table}`` as a plain function of the instance and the parameters.

``sysparm_offset`` is applied to the query's result at the moment of each request — no cursor, no snapshot —
so, exactly as on the instance, a record that moves in the sort order between two page requests (an update
while the window is paged) shifts the rows after it: one is skipped or one is repeated. Without ``ORDERBY`` the
order is the insertion order. ``X-Total-Count`` is the count at that request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from lumina_sandbox.servicenow.errors import SnowError, invalid_table
from lumina_sandbox.servicenow.instance import DEFAULT_LIMIT, Instance
from lumina_sandbox.servicenow.query import QueryError, parse, to_sql
from lumina_sandbox.servicenow.render import Renderer
from lumina_sandbox.servicenow.schema import Field
from lumina_sandbox.servicenow.store import physical, quote

DISPLAY_MODES = ("false", "true", "all")


def _flag(value: str | None, default: bool = False) -> bool:
    return default if value is None else value.strip().lower() == "true"


def _int(params: dict[str, str], name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise SnowError(400, f"Invalid value for {name}: {value}", None) from None


@dataclass
class ListRequest:
    table: str
    query: str = ""
    fields: list[str] | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    display: str = "false"
    exclude_links: bool = False
    no_count: bool = False
    suppress_links: bool = False

    @classmethod
    def from_params(cls, table: str, params: dict[str, str], max_limit: int) -> ListRequest:
        display = (params.get("sysparm_display_value") or "false").strip().lower()
        if display not in DISPLAY_MODES:
            display = "false"
        fields = params.get("sysparm_fields")
        limit = _int(params, "sysparm_limit", DEFAULT_LIMIT)
        return cls(
            table=table,
            query=params.get("sysparm_query", ""),
            fields=[f.strip() for f in fields.split(",") if f.strip()] if fields else None,
            limit=min(limit if limit > 0 else DEFAULT_LIMIT, max_limit),
            offset=max(_int(params, "sysparm_offset", 0), 0),
            display=display,
            exclude_links=_flag(params.get("sysparm_exclude_reference_link")),
            no_count=_flag(params.get("sysparm_no_count")),
            suppress_links=_flag(params.get("sysparm_suppress_pagination_header")),
        )


@dataclass
class ListResult:
    records: list[dict[str, Any]]
    total: int | None


def selected_fields(instance: Instance, table: str, names: list[str] | None) -> list[Field]:
    """The fields to return: ``sysparm_fields`` in its order (names the table lacks are left out), else all."""
    known = instance.catalog.fields(table)
    if not names:
        return list(known.values())
    seen: dict[str, Field] = {}
    for name in names:
        if name in known and name not in seen:
            seen[name] = known[name]
    return list(seen.values())


def where_of(instance: Instance, table: str, query: str) -> tuple[str, list[Any], str]:
    try:
        sql = to_sql(parse(query), instance.catalog.fields(table), instance.invalid_query)
    except QueryError as error:
        raise SnowError(400, str(error), "sysparm_query") from None
    classes, params = instance.writer.classes_sql(table)
    return f"{classes} AND ({sql.where})", [*params, *sql.params], sql.order


def list_records(instance: Instance, request: ListRequest) -> ListResult:
    table = request.table
    if table not in instance.catalog.tables:
        raise invalid_table(table)
    instance.run_page_hooks(table)
    fields = selected_fields(instance, table, request.fields)
    where, params, order = where_of(instance, table, request.query)
    source = physical(instance.catalog.root(table))
    with instance.store.lock:
        total = None
        if not request.no_count:
            total = int(instance.store.scalar(f"SELECT COUNT(*) FROM {source} WHERE {where}", params))
        rows = instance.store.query(
            f"SELECT {', '.join(quote(f.element) for f in fields) or 'NULL'} FROM {source} WHERE {where} "
            f"ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, request.limit, request.offset],
        )
    if not fields:
        rows = [() for _ in rows]
    renderer = Renderer(
        instance.catalog, instance.store, table, fields, request.display, request.exclude_links, instance.base_url
    )
    return ListResult(renderer.render(rows), total)


def count_records(instance: Instance, table: str, query: str) -> int:
    if table not in instance.catalog.tables:
        raise invalid_table(table)
    where, params, _ = where_of(instance, table, query)
    return int(
        instance.store.scalar(f"SELECT COUNT(*) FROM {physical(instance.catalog.root(table))} WHERE {where}", params)
    )


def get_record(instance: Instance, table: str, sys_id: str, params: dict[str, str]) -> dict[str, Any] | None:
    if table not in instance.catalog.tables:
        raise invalid_table(table)
    request = ListRequest.from_params(table, params, instance.max_limit)
    fields = selected_fields(instance, table, request.fields)
    where, values, _ = where_of(instance, table, "")
    rows = instance.store.query(
        f"SELECT {', '.join(quote(f.element) for f in fields)} FROM {physical(instance.catalog.root(table))} "
        f'WHERE {where} AND "sys_id" = ?',
        [*values, sys_id],
    )
    if not rows:
        return None
    renderer = Renderer(
        instance.catalog, instance.store, table, fields, request.display, request.exclude_links, instance.base_url
    )
    return renderer.render(rows)[0]


def link_header(url: str, params: dict[str, str], request: ListRequest, total: int | None) -> str | None:
    """``Link: <...offset=0>;rel="first",<...>;rel="prev",<...>;rel="next",<...>;rel="last"`` for a list page
    (prev/next only where there is one; no header for a single page)."""
    if request.suppress_links or total is None:
        return None
    limit, offset = request.limit, request.offset
    if offset == 0 and total <= limit:
        return None  # one page: the instance sends no Link header at all
    kept = {k: v for k, v in params.items() if k not in ("sysparm_offset", "sysparm_limit")}

    def at(position: int) -> str:
        query = {**kept, "sysparm_offset": str(position), "sysparm_limit": str(limit)}
        return f"<{url}?{urlencode(query, safe=',')}>"

    links = [f'{at(0)};rel="first"']
    if offset > 0:
        links.append(f'{at(max(offset - limit, 0))};rel="prev"')
    if offset + limit < total:
        links.append(f'{at(offset + limit)};rel="next"')
    last = max((total - 1) // limit * limit, 0) if total else 0
    links.append(f'{at(last)};rel="last"')
    return ",".join(links)
