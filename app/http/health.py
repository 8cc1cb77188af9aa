"""Liveness (``/healthz``: the process answers) and readiness (``/readyz``: the store answers)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app import errors
from app.services.container import Services

log = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    services: Services = request.state.services
    try:
        checks = await services.readiness.check()
    except errors.Unavailable as exc:
        log.warning("not ready: %s", exc.message)
        return JSONResponse({"status": "unavailable", "reason": exc.message}, status_code=503)
    return JSONResponse({"status": "ok", "checks": checks})


def routes() -> list[Route]:
    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
