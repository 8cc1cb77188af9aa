"""``POST /v1/steps/output``: a Function step's pod posts its output (JSON, the request body) when it is
too large for its termination message, with ``Authorization: Bearer <step token>``.

Answers: 204 kept; 401 no or bad token; 409 the attempt is over or already posted; 400 not JSON; 413
larger than the output limit. Nothing is written unless it answers 204.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app import errors
from app.domain.flows.steps import STEP_OUTPUT_PATH
from app.services.container import Services
from app.services.step_outputs import OutputTooLarge

PATH = STEP_OUTPUT_PATH


def _refusal(exc: errors.TrellisError) -> JSONResponse:
    status = {
        errors.Unauthenticated.code: 401,
        errors.Conflict.code: 409,
        errors.Invalid.code: 400,
    }.get(exc.code, 400)
    if isinstance(exc, OutputTooLarge):
        status = 413
    headers = {"WWW-Authenticate": 'Bearer realm="trellis-steps"'} if status == 401 else None
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message}}, status_code=status, headers=headers
    )


async def post_output(request: Request) -> Response:
    services: Services = request.state.services
    outputs = services.step_outputs
    try:
        claims = outputs.claims(request.headers.get("authorization", ""))
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > outputs.max_output_bytes:
                raise OutputTooLarge.field(
                    "body", f"the output is larger than the limit of {outputs.max_output_bytes} bytes"
                )
        await outputs.accept(claims, bytes(body))
    except errors.TrellisError as exc:
        return _refusal(exc)
    return Response(status_code=204)


def routes() -> list[Route]:
    return [Route(PATH, post_output, methods=["POST"])]
