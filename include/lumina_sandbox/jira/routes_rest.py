"""The REST routes under ``/rest/api/{2|3|latest}/`` and ``POST /oauth/token``.

REST v3 (Cloud only) gives ADF bodies; v2 and ``latest`` give text. Cloud answers the removed
``/search`` with 410 and serves ``/search/jql``; Data Center serves ``/search`` (offset paging) and has neither
v3 nor ``/search/jql`` (404, as there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from lumina_sandbox.jira import reads
from lumina_sandbox.jira.app import json_response
from lumina_sandbox.jira.errors import JiraError, bad_request, issue_not_found, removed_search
from lumina_sandbox.jira.instance import Instance

router = APIRouter()
PREFIX = "/rest/api/{version}"
CLOUD_VERSION = {"version": "1001.0.0-SNAPSHOT", "versionNumbers": [1001, 0, 0], "buildNumber": 100287}
DATACENTER_VERSION = {"version": "9.12.15", "versionNumbers": [9, 12, 15], "buildNumber": 9120015}


def _instance(request: Request) -> Instance:
    instance: Instance = request.app.state.instance
    return instance


def _api(request: Request, version: str, cloud_only: bool = False) -> int:
    """2 or 3 for the path's version; 404 for v3 (or a Cloud-only resource) on Data Center."""
    instance = _instance(request)
    if version not in ("2", "3", "latest") or (not instance.cloud and (version == "3" or cloud_only)):
        raise NotFound(str(request.url))
    return 3 if version == "3" else 2


class NotFound(JiraError):
    def __init__(self, url: str) -> None:
        super().__init__(404, f"null for uri: {url}")
        self.url = url

    def body(self) -> dict[str, Any]:
        return {"message": f"null for uri: {self.url}", "status-code": 404}


async def _run(call: Callable[[], Any]) -> Any:
    try:
        return await run_in_threadpool(call)
    except (ValueError, KeyError) as error:
        raise bad_request(str(error)) from None


async def _options(request: Request) -> dict[str, Any]:
    """Query parameters (repeated ones as lists) merged with a JSON object body (POST)."""
    options: dict[str, Any] = {}
    for name in request.query_params:
        values = request.query_params.getlist(name)
        options[name] = values if len(values) > 1 else values[0]
    if request.method == "POST":
        raw = await request.body()
        if raw:
            try:
                body = orjson.loads(raw)
            except ValueError:
                raise bad_request(
                    "Invalid request payload. Refer to the REST API documentation and try again."
                ) from None
            if not isinstance(body, dict):
                raise bad_request("Invalid request payload. Refer to the REST API documentation and try again.")
            options.update(body)
    return options


@router.get(PREFIX + "/serverInfo")
async def server_info(version: str, request: Request) -> Response:
    _api(request, version)
    instance = _instance(request)
    view = reads.renderer(instance, 2)
    body: dict[str, Any] = {"baseUrl": instance.base_url}
    if instance.cloud:
        body["displayUrl"] = instance.base_url
    body.update(CLOUD_VERSION if instance.cloud else DATACENTER_VERSION)
    body.update(
        deploymentType="Cloud" if instance.cloud else "Server",
        buildDate="2026-11-30T00:00:00.000+0000",
        serverTime=view.when(instance.now_ms()),
        scmInfo="5f1b2c0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c",
        serverTitle="Jira",
    )
    if instance.cloud:
        body.update(defaultLocale={"locale": "en_US"}, serverTimeZone="Etc/UTC")
    return json_response(body)


@router.get(PREFIX + "/myself")
async def myself(version: str, request: Request) -> Response:
    instance = _instance(request)
    view = reads.renderer(instance, _api(request, version))
    user = dict(view.user(request.state.account) or {})
    user["timeZone"] = instance.time_zone
    user.update(
        locale="en_US",
        groups={"size": 1, "items": []},
        applicationRoles={"size": 1, "items": []},
        expand="groups,applicationRoles",
    )
    return json_response(user)


@router.get(PREFIX + "/field")
async def fields(version: str, request: Request) -> Response:
    _api(request, version)
    return json_response([definition.describe() for definition in _instance(request).catalog.all()])


@router.api_route(PREFIX + "/search", methods=["GET", "POST"])
async def search(version: str, request: Request) -> Response:
    api = _api(request, version)
    instance = _instance(request)
    if instance.cloud:
        raise removed_search()
    options = await _options(request)
    return json_response(await _run(lambda: reads.search_offset(instance, api, options)))


@router.api_route(PREFIX + "/search/jql", methods=["GET", "POST"])
async def search_jql(version: str, request: Request) -> Response:
    api = _api(request, version, cloud_only=True)
    instance = _instance(request)
    options = await _options(request)
    return json_response(await _run(lambda: reads.search_jql(instance, api, options)))


@router.post(PREFIX + "/search/approximate-count")
async def approximate_count(version: str, request: Request) -> Response:
    _api(request, version, cloud_only=True)
    instance = _instance(request)
    options = await _options(request)
    return json_response(await _run(lambda: reads.approximate_count(instance, options)))


@router.get(PREFIX + "/issue/{id_or_key}")
async def issue(version: str, id_or_key: str, request: Request) -> Response:
    api, instance = _api(request, version), _instance(request)
    options = await _options(request)
    return json_response(await _run(lambda: reads.issue(instance, api, id_or_key, options)))


@router.delete(PREFIX + "/issue/{id_or_key}")
async def delete_issue(version: str, id_or_key: str, request: Request) -> Response:
    _api(request, version)
    instance = _instance(request)
    removed = await _run(lambda: instance.writer.delete_issues([id_or_key]))
    if not removed:
        raise issue_not_found()
    return Response(status_code=204)


@router.get(PREFIX + "/issue/{id_or_key}/changelog")
async def changelog(version: str, id_or_key: str, request: Request) -> Response:
    api, instance = _api(request, version, cloud_only=True), _instance(request)  # DC: expand=changelog only
    options = await _options(request)
    return json_response(await _run(lambda: reads.changelog(instance, api, id_or_key, options)))


@router.get(PREFIX + "/issue/{id_or_key}/comment")
async def comments(version: str, id_or_key: str, request: Request) -> Response:
    api, instance = _api(request, version), _instance(request)
    options = await _options(request)
    return json_response(await _run(lambda: reads.comments(instance, api, id_or_key, options)))


@router.get(PREFIX + "/issue/{id_or_key}/worklog")
async def worklogs(version: str, id_or_key: str, request: Request) -> Response:
    api, instance = _api(request, version), _instance(request)
    options = await _options(request)
    return json_response(await _run(lambda: reads.worklogs(instance, api, id_or_key, options)))


@router.get(PREFIX + "/worklog/updated")
async def worklogs_updated(version: str, request: Request) -> Response:
    api, instance = _api(request, version), _instance(request)
    options = await _options(request)
    return json_response(await _run(lambda: reads.worklog_feed(instance, api, False, options)))


@router.get(PREFIX + "/worklog/deleted")
async def worklogs_deleted(version: str, request: Request) -> Response:
    api, instance = _api(request, version), _instance(request)
    options = await _options(request)
    return json_response(await _run(lambda: reads.worklog_feed(instance, api, True, options)))


@router.post(PREFIX + "/worklog/list")
async def worklog_list(version: str, request: Request) -> Response:
    api, instance = _api(request, version), _instance(request)
    options = await _options(request)
    return json_response(await _run(lambda: reads.worklog_list(instance, api, options.get("ids"))))


@router.post("/oauth/token")
async def oauth_token(request: Request) -> Response:
    """Atlassian's token endpoint (JSON or form body)."""
    instance = _instance(request)
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        form = await _options(request)
    else:
        form = {k: str(v) for k, v in (await request.form()).items()}
    return json_response(instance.auth.grant({k: str(v) for k, v in form.items()}))
