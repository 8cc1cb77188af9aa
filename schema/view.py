"""The ASGI GraphQL view: builds each request's context from the server's services."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from app import errors
from app.services.container import Services
from schema.context import Context
from schema.errors import apply_code
from schema.loaders import make_loaders


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view with Trellis's context and a locally served GraphiQL page."""

    def __init__(self, schema: Any, *, ide_page: Callable[[], str], **options: Any) -> None:
        super().__init__(schema, graphql_ide="graphiql", **options)
        self._ide_page = ide_page

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        services: Services = request.state.services
        request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
        return Context(
            services=services,
            request=request,
            response=response,
            request_id=request_id,
            loaders=make_loaders(services),
            authorization=request.headers.get("authorization"),
        )

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """Authenticate in ``connection_init`` before ``connection_ack``; a bad token closes with 4403."""
        try:
            await context.principal()
        except errors.Unauthenticated as exc:
            raise ConnectionRejectionError({"message": exc.message}) from exc
        return None

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """A safety net: an error that escaped the schema's mapping still gets a code (and is masked)."""
        if result.errors:
            request_id = getattr(request.state, "request_id", "-")
            for error in result.errors:
                apply_code(error, request_id)
        return await super().process_result(request, result)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:  # noqa: ARG002
        return HTMLResponse(self._ide_page())
