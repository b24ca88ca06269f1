"""Login endpoints: ``POST /services/oauth2/token`` (OAuth 2.0 grants) and ``POST /services/Soap/u/{version}``."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lumina_sandbox.salesforce.app import json_response
from lumina_sandbox.salesforce.auth import OAuthError
from lumina_sandbox.salesforce.org import Org

router = APIRouter()


@router.post("/services/oauth2/token")
async def token(request: Request) -> Response:
    org: Org = request.app.state.org
    body = (await request.body()).decode("utf-8", "replace")
    form = dict(parse_qsl(body, keep_blank_values=True))
    form.update({k: v for k, v in request.query_params.items() if k not in form})
    try:
        result = org.auth.token(form, request.headers.get("authorization"))
    except OAuthError as error:
        return json_response(error.body(), error.status)
    return json_response(result)


@router.post("/services/Soap/u/{version}")
async def soap_login(version: str, request: Request) -> Response:
    org: Org = request.app.state.org
    status, envelope = org.auth.soap_login(await request.body(), version)
    return Response(envelope.encode(), status_code=status, media_type="text/xml;charset=UTF-8")
