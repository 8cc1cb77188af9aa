"""The ``/v2/`` handshake of the Docker Registry HTTP API v2, with both ways a registry authenticates.

``GET /v2/`` answers 200 when the registry lets the caller in. A 401 carries a challenge:

* ``Basic realm=…`` — send the user name and password with HTTP Basic and ask again;
* ``Bearer realm=…,service=…[,scope=…]`` — get a token from the realm (the Docker Registry token
  authentication specification: ``GET realm?service=…&scope=…`` with the credentials as HTTP Basic, or
  the OAuth2 form ``POST realm`` with ``grant_type=refresh_token`` when holding a refresh token, as
  Azure's exchange gives one), then ask again with ``Authorization: Bearer <token>``.

The outcome is REACHABLE, UNAUTHORIZED (with the reason the registry or its token service gave) or
UNREACHABLE (with what failed), plus the ``Docker-Distribution-API-Version`` header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from app.domain.registries import Handshake, RegistryStatus
from app.registry.challenges import Challenge, first_challenge
from app.registry.transport import Answer, GuardedHttp, Refused, Unreachable, basic_authorization

API_VERSION_HEADER = "Docker-Distribution-API-Version"
REGISTRY = "the registry"
TOKEN_SERVICE = "the registry's token service"
CLIENT_ID = "trellis"


@dataclass(frozen=True, slots=True)
class Login:
    """What to answer a challenge with: a user name and password, or an OAuth2 refresh token."""

    basic: tuple[str, str] | None = None
    refresh_token: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.basic is None and self.refresh_token is None


async def handshake(http: GuardedHttp, base_url: str, login: Login, *, allow_http: bool) -> Handshake:
    """Run the handshake against the registry at ``base_url``; never raises for what the registry or
    the network does (that is the outcome)."""
    url = f"{base_url.rstrip('/')}/v2/"
    try:
        first = await http.request("GET", url, what=REGISTRY, allow_http=allow_http)
        version = first.headers.get(API_VERSION_HEADER)
        if first.status == 200:
            note = None if login.anonymous else "the registry lets anyone in; the credentials were not needed"
            return Handshake(RegistryStatus.REACHABLE, note, version)
        if first.status != 401:
            raise Unreachable(_not_a_registry(first))
        challenge = first_challenge(first.headers.get_list("www-authenticate"))
        if challenge is None:
            raise Unreachable("the registry answered 401 without a WWW-Authenticate challenge")
        headers = await _authorization(http, challenge, login, allow_http=allow_http)
        second = await http.request("GET", url, what=REGISTRY, allow_http=allow_http, headers=headers)
        version = second.headers.get(API_VERSION_HEADER) or version
        if second.status == 200:
            return Handshake(RegistryStatus.REACHABLE, None, version)
        if second.status in (401, 403):
            return Handshake(RegistryStatus.UNAUTHORIZED, refusal(REGISTRY, second), version)
        raise Unreachable(_not_a_registry(second))
    except Refused as exc:
        return Handshake(RegistryStatus.UNAUTHORIZED, exc.reason)
    except Unreachable as exc:
        return Handshake(RegistryStatus.UNREACHABLE, exc.reason)


async def _authorization(
    http: GuardedHttp, challenge: Challenge, login: Login, *, allow_http: bool
) -> dict[str, str]:
    if challenge.scheme == "basic":
        if login.basic is None:
            raise Refused("the registry asks for a user name and password (HTTP Basic), and none are stored")
        return {"Authorization": basic_authorization(*login.basic)}
    if challenge.scheme == "bearer":
        token = await bearer_token(http, challenge, login, allow_http=allow_http)
        return {"Authorization": f"Bearer {token}"}
    raise Unreachable(
        f"the registry asks for {challenge.scheme!r} authentication, which Trellis does not speak"
    )


async def bearer_token(http: GuardedHttp, challenge: Challenge, login: Login, *, allow_http: bool) -> str:
    """A token from the challenge's realm for its service and scope."""
    realm = challenge.realm
    if not realm:
        raise Unreachable("the registry's Bearer challenge names no realm (token service)")
    params = {key: challenge.params[key] for key in ("service", "scope") if challenge.params.get(key)}
    if login.refresh_token is not None:
        form = {"grant_type": "refresh_token", "refresh_token": login.refresh_token, "client_id": CLIENT_ID}
        answer = await http.request(
            "POST", realm, what=TOKEN_SERVICE, allow_http=allow_http, form={**form, **params}
        )
    else:
        if login.basic is not None:
            params["account"] = login.basic[0]
        separator = "&" if urlsplit(realm).query else "?"
        url = f"{realm}{separator}{urlencode(params)}" if params else realm
        answer = await http.request("GET", url, what=TOKEN_SERVICE, allow_http=allow_http, auth=login.basic)
    if answer.status in (401, 403):
        raise Refused(refusal(TOKEN_SERVICE, answer))
    if answer.status != 200:
        raise Unreachable(
            f"{TOKEN_SERVICE} answered HTTP {answer.status}: {detail(answer) or 'no reason given'}"
        )
    body = answer.json()
    token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise Unreachable(f"{TOKEN_SERVICE} answered 200 without a token")
    return token


def refusal(who: str, answer: Answer) -> str:
    """Why ``who`` refused (HTTP 401/403), from its body or challenge."""
    reason = detail(answer)
    if not reason:
        challenge = first_challenge(answer.headers.get_list("www-authenticate"))
        if challenge is not None:
            reason = challenge.params.get("error_description") or challenge.params.get("error") or ""
    return f"{who} refused the credentials (HTTP {answer.status}): {reason or 'no reason given'}"


def detail(answer: Answer) -> str:
    """The error message in a body: the registry's ``errors[]``, OAuth2's ``error_description``,
    Docker Hub's ``details``, AWS's ``__type`` and ``message``; else the start of the text."""
    body = answer.json()
    if isinstance(body, dict):
        return _from_json(body)
    text = answer.body.decode("utf-8", "replace").strip()
    return text[:200]


def _from_json(body: dict[str, Any]) -> str:
    registry_errors = body.get("errors")
    if isinstance(registry_errors, list) and registry_errors and isinstance(registry_errors[0], dict):
        first = registry_errors[0]
        code, message = first.get("code"), first.get("message")
        return ": ".join(str(part) for part in (code, message) if part)
    if body.get("error_description") or body.get("error"):
        return ": ".join(str(body[key]) for key in ("error", "error_description") if body.get(key))
    for key in ("details", "detail"):
        if isinstance(body.get(key), str):
            return str(body[key])
    message = body.get("message") or body.get("Message")
    kind = str(body.get("__type") or "").rpartition("#")[2]
    return ": ".join(part for part in (kind, str(message or "")) if part)


def _not_a_registry(answer: Answer) -> str:
    if answer.status == 404:
        return "GET /v2/ answered 404: this is not a Docker Registry HTTP API v2 endpoint"
    if 300 <= answer.status < 400:
        where = answer.headers.get("location") or "elsewhere"
        return f"GET /v2/ redirects to {where}; give the registry's own URL (redirects are not followed)"
    reason = detail(answer)
    return f"GET /v2/ answered HTTP {answer.status}" + (f": {reason}" if reason else "")
