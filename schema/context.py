"""The per-request (or per-WebSocket-connection) context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from app import errors
from app.services.container import Services
from app.services.principals import Principal
from schema.loaders import Loaders

BEARER = "bearer "


@dataclass
class Context:
    services: Services
    request: Request | WebSocket
    response: Response | WebSocket | None
    request_id: str
    loaders: Loaders
    authorization: str | None = None
    connection_params: dict[str, Any] | None = None  # the WebSocket ``connection_init`` payload
    _principal: Principal | None = field(default=None, repr=False)

    async def principal(self) -> Principal:
        """The signed-in caller; ``UNAUTHENTICATED`` with the reason when there is none."""
        if self._principal is None:
            token = self.bearer()
            if token is None:
                raise errors.Unauthenticated("sign in first: send the header Authorization: Bearer <token>")
            self._principal = await self.services.identity.authenticate(token)
        return self._principal

    async def reauthorize(self) -> Principal:
        """Check again (past the short cache) that the session, the user and the roles still hold;
        long-lived subscriptions call this so a logout or a lost membership ends them."""
        token = self.bearer()
        if token is None:
            raise errors.Unauthenticated("sign in first")
        self._principal = await self.services.identity.authenticate(token)
        return self._principal

    def bearer(self) -> str | None:
        """The bearer token of the HTTP header, or of a WebSocket's ``connection_init`` payload."""
        header = self.authorization
        if header is None and self.connection_params:
            header = next(
                (str(v) for k, v in self.connection_params.items() if k.lower() == "authorization"), None
            )
        return bearer_token(header)


def bearer_token(header: str | None) -> str | None:
    if header and header[: len(BEARER)].lower() == BEARER:
        token = header[len(BEARER) :].strip()
        return token or None
    return None


Info: TypeAlias = strawberry.Info[Context, None]
