"""Sign-in through identity providers: ``GET /v1/auth/oauth/{provider}/authorize`` sends the browser to
the provider (optional ``redirect``: a front-end path to land on afterwards; ``invitation``: an invitation
token for a new account); ``GET /v1/auth/oauth/{provider}/callback`` is where the provider sends it back.

Both answer with a 302: on success to the provider, then to the front end's ``/auth/callback`` with a
one-time ``code`` (exchanged with the ``exchangeOAuthCode`` mutation); on any failure to the front end's
``/login?error=<short code>`` — never a stack trace.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from app.services.container import Services
from app.services.oauth_signin import SignInFailed

log = logging.getLogger(__name__)

PREFIX = "/v1/auth/oauth/{provider}"
SERVER_ERROR = "server_error"
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


async def authorize(request: Request) -> RedirectResponse:
    services: Services = request.state.services
    provider = request.path_params["provider"]
    try:
        url = await services.oauth.begin(
            provider,
            redirect=request.query_params.get("redirect"),
            invitation=request.query_params.get("invitation"),
        )
    except SignInFailed as exc:
        return _to(services.oauth.login_page(exc.reason))
    except Exception:
        log.exception("starting a sign-in with %r failed", provider)
        return _to(services.oauth.login_page(SERVER_ERROR))
    return _to(url)


async def callback(request: Request) -> RedirectResponse:
    services: Services = request.state.services
    query = request.query_params
    try:
        url = await services.oauth.complete(
            request.path_params["provider"],
            state=query.get("state"),
            code=query.get("code"),
            error=query.get("error"),
        )
    except SignInFailed as exc:
        return _to(services.oauth.login_page(exc.reason))
    except Exception:
        log.exception("completing a sign-in failed")
        return _to(services.oauth.login_page(SERVER_ERROR))
    return _to(url)


def _to(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=302, headers=_HEADERS)


def routes() -> list[Route]:
    return [
        Route(f"{PREFIX}/authorize", authorize, methods=["GET"]),
        Route(f"{PREFIX}/callback", callback, methods=["GET"]),
    ]
