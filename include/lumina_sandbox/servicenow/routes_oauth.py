"""``POST /oauth_token.do``: the instance's OAuth 2.0 token endpoint (form-encoded body; see ``auth``)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lumina_sandbox.servicenow.app import json_response
from lumina_sandbox.servicenow.auth import OAuthError
from lumina_sandbox.servicenow.instance import Instance

MAX_FORM_BYTES = 16_384
router = APIRouter()


@router.post("/oauth_token.do")
async def token(request: Request) -> Response:
    instance: Instance = request.app.state.instance
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        # The instance documents that a JSON body "results in an unspecified error".
        raise OAuthError(400, "invalid_request", "the token request must be application/x-www-form-urlencoded")
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise OAuthError(400, "invalid_request", "request too large")
    form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    body = instance.auth.grant(form)
    return json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})
