"""Sign-in through OAuth2 / OpenID Connect providers: their configuration, the identities they vouch for,
and the short-lived records of one sign-in (the state of an authorization request, the one-time code the
front end exchanges for a session)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from app.domain.users import UserRole


class ProviderType(StrEnum):
    """``oidc``: endpoints from the issuer's discovery document, an id_token verified against its JWKS.
    ``oauth2``: explicit authorize / token / userinfo URLs. ``github``: ``oauth2`` with GitHub's endpoints
    and its e-mail API (``GET /user``, ``GET /user/emails``)."""

    OIDC = "oidc"
    OAUTH2 = "oauth2"
    GITHUB = "github"


class SignInFailure(StrEnum):
    """The short codes a failed sign-in sends to the front end's login page (``?error=…``)."""

    PROVIDER_UNKNOWN = "provider_unknown"
    PROVIDER_ERROR = "provider_error"  # the provider redirected back with ``error=…`` (the user declined…)
    PROVIDER_UNAVAILABLE = "provider_unavailable"  # discovery, JWKS or userinfo could not be read
    STATE_INVALID = "state_invalid"
    STATE_EXPIRED = "state_expired"
    EXCHANGE_FAILED = "exchange_failed"
    ID_TOKEN_INVALID = "id_token_invalid"
    PROFILE_INVALID = "profile_invalid"  # no subject or no usable e-mail address
    EMAIL_UNVERIFIED = "email_unverified"
    EMAIL_LINKED_ELSEWHERE = "email_linked_elsewhere"
    DOMAIN_NOT_ALLOWED = "domain_not_allowed"
    SIGNUP_DISABLED = "signup_disabled"
    INVITATION_REQUIRED = "invitation_required"
    INVITATION_INVALID = "invitation_invalid"
    REDIRECT_INVALID = "redirect_invalid"  # ``redirect`` is not a path on the front end
    USER_DISABLED = "user_disabled"


@dataclass(frozen=True, slots=True)
class ClaimMapping:
    """Which profile claim (userinfo or id_token; GitHub's ``/user``) holds each value."""

    subject: str = "sub"
    email: str = "email"
    email_verified: str = "email_verified"
    name: str = "name"


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One identity provider, as configured in ``TRELLIS_AUTH_PROVIDERS``. ``issuer`` is set for ``oidc``;
    the endpoint URLs for ``oauth2`` (and ``github``, where they default to GitHub's). ``api_url`` is
    GitHub's REST API base (``/user``, ``/user/emails``). ``client_secret`` never leaves the server."""

    id: str
    type: ProviderType
    display_name: str
    client_id: str
    client_secret: str = field(repr=False)
    icon: str | None = None
    issuer: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None
    api_url: str | None = None
    scopes: tuple[str, ...] = ()
    claims: ClaimMapping = ClaimMapping()
    allowed_email_domains: tuple[str, ...] = ()  # empty: any domain
    default_role: UserRole = UserRole.USER
    allow_signup: bool = True  # False: only existing (or already linked) accounts sign in here
    token_auth_method: str = "client_secret_basic"

    def allows_email(self, email: str) -> bool:
        return email_in_domains(email, self.allowed_email_domains)


def email_in_domains(email: str, domains: tuple[str, ...]) -> bool:
    """True when ``domains`` is empty or the address's domain is one of them (case-insensitive)."""
    if not domains:
        return True
    domain = email.rpartition("@")[2].lower()
    return domain in {d.lower() for d in domains}


@dataclass(frozen=True, slots=True)
class Profile:
    """What a provider vouches for after a successful exchange. ``email_verified`` is True only when the
    provider said so explicitly (an id_token or userinfo ``email_verified: true``, GitHub's ``verified``)."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None


@dataclass(frozen=True, slots=True)
class UserIdentity:
    """A provider account linked to a Trellis user; (provider, subject) is unique."""

    provider: str
    subject: str
    user_id: str
    email: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OAuthState:
    """One authorization request in flight, kept server-side until the callback consumes it (once).
    ``id`` is the digest of the ``state`` sent to the provider; ``code_verifier`` is PKCE's secret."""

    id: str
    provider: str
    code_verifier: str = field(repr=False)
    nonce: str | None
    redirect: str  # the front-end path to land on afterwards
    invitation: str | None = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OAuthCode:
    """A one-time code the front end exchanges for the session's token; ``id`` is its digest."""

    id: str
    user_id: str
    session_id: str
    expires_at: datetime


def digest(secret: str) -> str:
    """How a state or one-time code is stored: its SHA-256 (they are long random strings)."""
    return hashlib.sha256(secret.encode()).hexdigest()
