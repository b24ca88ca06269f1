"""REST API routes under ``/services/data/vNN.N/``: versions, query/queryAll, limits, describe, sObject rows,
get deleted/updated. Handlers are synchronous (they run in the thread pool; SQLite blocks)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from lumina_sandbox.salesforce.app import JSON_TYPE, MAX_VERSION, MIN_VERSION, json_response
from lumina_sandbox.salesforce.clock import parse_datetime, rest_text, to_storage
from lumina_sandbox.salesforce.cursors import batch_size
from lumina_sandbox.salesforce.describe import basic_info, describe_global, describe_sobject
from lumina_sandbox.salesforce.errors import ApiError
from lumina_sandbox.salesforce.ids import canonical, is_valid_id
from lumina_sandbox.salesforce.org import Org
from lumina_sandbox.salesforce.records import RECYCLE_BIN_DAYS
from lumina_sandbox.salesforce.schema import SObjectType
from lumina_sandbox.salesforce.sql import json_columns, record_json
from lumina_sandbox.salesforce.store import DELETED_AT

RELEASES = ["Winter", "Spring", "Summer"]
MAX_REPLICATION_IDS = 600_000
router = APIRouter()
PREFIX = "/services/data/v{version}"


def _org(request: Request) -> Org:
    org: Org = request.app.state.org
    return org


def _json(body: bytes) -> Response:
    return Response(body, media_type=JSON_TYPE)


@router.get("/services/data")
def versions(request: Request) -> Response:
    return json_response(
        [
            {
                "label": f"{RELEASES[(v - 50) % 3]} '{21 + (v - 50 + 0) // 3}",
                "url": f"/services/data/v{v}.0",
                "version": f"{v}.0",
            }
            for v in range(MIN_VERSION, MAX_VERSION + 1)
        ]
    )


@router.get(PREFIX)
def resources(version: str) -> Response:
    base = f"/services/data/v{version}"
    names = ["sobjects", "query", "queryAll", "limits", "jobs"]
    return json_response({name: f"{base}/{name}" if name != "jobs" else f"{base}/jobs/query" for name in names})


# -- query --------------------------------------------------------------------------------------------------------


def _query(request: Request, version: str, include_deleted: bool) -> Response:
    org = _org(request)
    org.maintain()
    body = org.queries.query(
        request.query_params.get("q", ""),
        include_deleted=include_deleted,
        version=version,
        batch=batch_size(request.headers.get("sforce-query-options")),
        user_id=request.state.user_id,
    )
    return _json(body)


@router.get(PREFIX + "/query")
def query(version: str, request: Request) -> Response:
    return _query(request, version, False)


@router.get(PREFIX + "/queryAll")
def query_all(version: str, request: Request) -> Response:
    return _query(request, version, True)


def _more(request: Request, version: str, locator: str) -> Response:
    body = _org(request).queries.more(
        locator, version=version, batch=batch_size(request.headers.get("sforce-query-options"))
    )
    return _json(body)


@router.get(PREFIX + "/query/{locator}")
def query_more(version: str, locator: str, request: Request) -> Response:
    return _more(request, version, locator)


@router.get(PREFIX + "/queryAll/{locator}")
def query_all_more(version: str, locator: str, request: Request) -> Response:
    return _more(request, version, locator)


@router.get(PREFIX + "/limits")
def limits(request: Request) -> Response:
    return json_response(_org(request).limits.as_json())


# -- describe -----------------------------------------------------------------------------------------------------


@router.get(PREFIX + "/sobjects")
def global_describe(version: str, request: Request) -> Response:
    return json_response(describe_global(version, _org(request).catalog))


@router.get(PREFIX + "/sobjects/{name}")
def sobject_info(version: str, name: str, request: Request) -> Response:
    org = _org(request)
    sobject = org.catalog.get(name)
    recent = _select(
        org,
        sobject,
        version,
        ["Id", "Name"] if sobject.has("Name") else ["Id"],
        where="1",
        limit=5,
        order='t."Id" DESC',
    )
    return json_response(basic_info(version, sobject, recent))


@router.get(PREFIX + "/sobjects/{name}/describe")
def sobject_describe(version: str, name: str, request: Request) -> Response:
    org = _org(request)
    return json_response(describe_sobject(version, org.catalog, org.catalog.get(name)))


# -- replication --------------------------------------------------------------------------------------------------


def _span(request: Request) -> tuple[str, str]:
    org = _org(request)
    values = []
    for key in ("start", "end"):
        raw = request.query_params.get(key)
        if not raw:
            raise ApiError(400, "MISSING_ARGUMENT", f"Missing required parameter: {key}")
        try:
            moment = parse_datetime(raw)
        except ValueError:
            raise ApiError(400, "INVALID_REPLICATION_DATE", f"Could not parse {key}: {raw}") from None
        values.append(moment.replace(second=0, microsecond=0))  # Salesforce ignores the seconds
    start, end = values
    now = org.now()
    if end - start <= timedelta(minutes=1):  # "by more than one minute", after the seconds are dropped
        raise ApiError(
            400, "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate by more than one minute"
        )
    if start < now - timedelta(days=30):
        raise ApiError(400, "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago")
    return to_storage(start), to_storage(min(end, now.replace(second=0, microsecond=0)))


def _replicable(org: Org, name: str) -> SObjectType:
    sobject = org.catalog.get(name)
    if not sobject.replicateable:
        raise ApiError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type {sobject.name} does not support replication")
    return sobject


@router.get(PREFIX + "/sobjects/{name}/deleted")
def deleted(version: str, name: str, request: Request) -> Response:
    org = _org(request)
    sobject = _replicable(org, name)
    start, covered = _span(request)
    org.maintain()
    rows = (
        org.store.conn()
        .execute(
            f'SELECT "Id", {DELETED_AT} FROM {sobject.table} WHERE {DELETED_AT} >= ? AND {DELETED_AT} < ? '
            f'ORDER BY {DELETED_AT}, "Id" LIMIT {MAX_REPLICATION_IDS + 1}',
            (start, covered),
        )
        .fetchall()
    )
    if len(rows) > MAX_REPLICATION_IDS:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", "too many ids; choose start and end dates closer together")
    window_start = to_storage(org.now().replace(second=0, microsecond=0) - timedelta(days=RECYCLE_BIN_DAYS))
    earliest = max(org.writer.purged_until.get(sobject.name, ""), window_start)
    earliest = earliest[:17] + "00.000Z"
    return json_response(
        {
            "deletedRecords": [{"id": r[0], "deletedDate": rest_text(r[1])} for r in rows],
            "earliestDateAvailable": rest_text(earliest),
            "latestDateCovered": rest_text(covered),
        }
    )


@router.get(PREFIX + "/sobjects/{name}/updated")
def updated(version: str, name: str, request: Request) -> Response:
    org = _org(request)
    sobject = _replicable(org, name)
    start, covered = _span(request)
    cursor = "SystemModstamp" if sobject.has_modstamp else "CreatedDate"
    live = ' AND "IsDeleted" = 0' if sobject.has_is_deleted else ""
    rows = (
        org.store.conn()
        .execute(
            f'SELECT "Id" FROM {sobject.table} WHERE "{cursor}" >= ? AND "{cursor}" < ?{live} '
            f'ORDER BY "{cursor}", "Id" LIMIT {MAX_REPLICATION_IDS + 1}',
            (start, covered),
        )
        .fetchall()
    )
    if len(rows) > MAX_REPLICATION_IDS:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", "too many ids; choose start and end dates closer together")
    return json_response({"ids": [r[0] for r in rows], "latestDateCovered": rest_text(covered)})


# -- rows ---------------------------------------------------------------------------------------------------------


def _select(
    org: Org,
    sobject: SObjectType,
    version: str,
    names: list[str] | None,
    *,
    where: str,
    params: dict[str, Any] | None = None,
    limit: int | None = None,
    order: str = "",
) -> list[dict[str, Any]]:
    fields = []
    for name in names or [f.name for f in sobject.fields]:
        found = sobject.find(name)
        if found is None:
            raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject.name}'")
        fields.append(found)
    sql = f"SELECT {', '.join(json_columns(sobject, fields))} FROM {sobject.table} t WHERE {where}"
    if order:
        sql += f" ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    bound = {**(params or {}), "ver": version, "today": org.clock.today().isoformat()}
    return [json.loads(record_json(row)) for row in org.store.conn().execute(sql, bound)]


def _record(
    org: Org, sobject: SObjectType, version: str, where: str, params: dict[str, Any], fields: str | None
) -> Response:
    names = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
    found = _select(
        org, sobject, version, ["Id", "IsDeleted"] if sobject.has_is_deleted else ["Id"], where=where, params=params
    )
    if not found:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    if len(found) > 1:
        urls = [f"/services/data/v{version}/sobjects/{sobject.name}/{r['Id']}" for r in found]
        return json_response(urls, 300)
    if found[0].get("IsDeleted"):
        raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
    return json_response(_select(org, sobject, version, names, where='t."Id" = :id', params={"id": found[0]["Id"]})[0])


@router.post(PREFIX + "/sobjects/{name}")
async def create(version: str, name: str, request: Request) -> Response:
    org = _org(request)
    sobject = org.catalog.get(name)
    body = _body(await request.body())
    created = await run_in_threadpool(org.writer.create, sobject, [body], actor=request.state.user_id)
    record_id = created[0]
    return json_response({"id": record_id, "success": True, "errors": []}, 201)


def _body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError as error:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {error}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of SObject from START_ARRAY")
    return body


@router.get(PREFIX + "/sobjects/{name}/{record_id}")
def get_record(version: str, name: str, record_id: str, request: Request) -> Response:
    org = _org(request)
    sobject = org.catalog.get(name)
    if not is_valid_id(record_id):
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return _record(
        org, sobject, version, 't."Id" = :id', {"id": canonical(record_id)}, request.query_params.get("fields")
    )


@router.patch(PREFIX + "/sobjects/{name}/{record_id}")
async def update_record(version: str, name: str, record_id: str, request: Request) -> Response:
    org = _org(request)
    body = _body(await request.body())
    await run_in_threadpool(
        org.writer.update, org.catalog.get(name), [{**body, "Id": record_id}], actor=request.state.user_id
    )
    return Response(status_code=204)


@router.delete(PREFIX + "/sobjects/{name}/{record_id}")
def delete_record(version: str, name: str, record_id: str, request: Request) -> Response:
    org = _org(request)
    org.writer.delete(org.catalog.get(name), [record_id], actor=request.state.user_id)
    return Response(status_code=204)


@router.get(PREFIX + "/sobjects/{name}/{field}/{value}")
def get_by_external_id(version: str, name: str, field: str, value: str, request: Request) -> Response:
    org = _org(request)
    sobject = org.catalog.get(name)
    target = sobject.find(field)
    if target is None or not (target.external_id or target.id_lookup):
        raise ApiError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field}")
    compare = "= :value COLLATE NOCASE" if target.type in ("string", "email") else "= :value"
    where = f't."{target.name}" {compare}'
    return _record(org, sobject, version, where, {"value": value}, request.query_params.get("fields"))


@router.patch(PREFIX + "/sobjects/{name}/{field}/{value}")
async def upsert(version: str, name: str, field: str, value: str, request: Request) -> Response:
    org = _org(request)
    body = _body(await request.body())
    record_id, created = await run_in_threadpool(
        org.writer.upsert, org.catalog.get(name), field, value, body, actor=request.state.user_id
    )
    return json_response({"id": record_id, "success": True, "errors": [], "created": created}, 201 if created else 200)
