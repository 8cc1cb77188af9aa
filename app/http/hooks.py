"""``POST /v1/hooks/{triggerId}``: a WEBHOOK trigger's call (a sender such as GitHub or Stripe, or anyone
holding the secret) starts a run of its flow.

Answers: 202 ``{"runId"}`` started; 200 ``{"runId", "replay": true}`` a delivery id seen before (nothing
started); 401 bad secret or signature, or a stale timestamp; 404 unknown or disabled trigger; 400 not
JSON; 409 the flow is running already; 413 larger than the body limit; 429 over the trigger's rate. Nothing
runs unless it answers 202.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app import errors
from app.domain.triggers import HOOK_PATH
from app.services.container import Services

_STATUS = {
    errors.Unauthenticated.code: 401,
    errors.NotFound.code: 404,
    errors.Invalid.code: 400,
    errors.Conflict.code: 409,
    errors.RateLimited.code: 429,
}


def _refusal(exc: errors.TrellisError, status: int | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message}},
        status_code=status or _STATUS.get(exc.code, 400),
    )


async def post_hook(request: Request) -> JSONResponse:
    services: Services = request.state.services
    triggers = services.triggers
    trigger_id = request.path_params["trigger_id"]
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > triggers.max_body_bytes:
            too_large = errors.Invalid.field(
                "body", f"is larger than the limit of {triggers.max_body_bytes} bytes"
            )
            return _refusal(too_large, 413)
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        answer = await triggers.receive(trigger_id, headers, dict(request.query_params), bytes(body))
    except errors.TrellisError as exc:
        return _refusal(exc)
    if answer.replay:
        return JSONResponse({"runId": answer.run_id, "replay": True}, status_code=200)
    return JSONResponse({"runId": answer.run_id}, status_code=202)


def routes() -> list[Route]:
    return [Route(HOOK_PATH, post_hook, methods=["POST"])]
