"""``/metrics``: the server's Prometheus metrics, behind a bearer token when one is set."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.observability.metrics import CONTENT_TYPE, Metrics

METRICS_PATH = "/metrics"


def routes(metrics: Metrics, *, token: str = "") -> list[Route]:
    """The ``/metrics`` route over ``metrics``; with ``token``, a request without ``Authorization:
    Bearer <token>`` gets 401 (and no metrics)."""
    expected = f"Bearer {token}".encode()

    async def endpoint(request: Request) -> Response:
        if token:
            given = request.headers.get("authorization", "").encode("latin-1", "replace")
            if not hmac.compare_digest(given, expected):
                return JSONResponse(
                    {"status": "unauthorized", "reason": "the metrics token is missing or wrong"},
                    status_code=401,
                    headers={"www-authenticate": 'Bearer realm="metrics"'},
                )
        return Response(metrics.exposition(), headers={"content-type": CONTENT_TYPE})

    return [Route(METRICS_PATH, endpoint, methods=["GET"])]
