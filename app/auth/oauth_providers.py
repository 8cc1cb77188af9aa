"""``TRELLIS_AUTH_PROVIDERS``: a JSON list of identity providers, checked at start with a clear message.

Each entry (camelCase keys)::

    {"id": "corp", "type": "oidc", "displayName": "Corp SSO", "icon": "keycloak",
     "clientId": "trellis", "clientSecret": "…", "issuer": "https://sso.example.com/realms/corp",
     "scopes": ["openid", "email", "profile"], "claims": {"email": "mail"},
     "allowedEmailDomains": ["example.com"], "defaultRole": "USER", "allowSignUp": true}

``oauth2`` entries give ``authorizeUrl``, ``tokenUrl`` and ``userinfoUrl`` instead of ``issuer``;
``github`` entries need only the client credentials (``authorizeUrl``, ``tokenUrl`` and ``apiUrl`` default
to GitHub's and may be overridden, e.g. for GitHub Enterprise).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from app.domain.identities import ClaimMapping, ProviderConfig, ProviderType
from app.domain.users import UserRole

SETTING = "TRELLIS_AUTH_PROVIDERS"
GITHUB_AUTHORIZE_URL = "https://github.com/login/oauth/authorize"
GITHUB_TOKEN_URL = "https://github.com/login/oauth/access_token"
GITHUB_API_URL = "https://api.github.com"
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_DEFAULT_SCOPES = {
    ProviderType.OIDC: ("openid", "email", "profile"),
    ProviderType.OAUTH2: ("email",),
    ProviderType.GITHUB: ("read:user", "user:email"),
}
_GITHUB_CLAIMS = ClaimMapping(subject="id", email="email", email_verified="email_verified", name="name")


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class _Claims(_Model):
    subject: str | None = None
    email: str | None = None
    email_verified: str | None = None
    name: str | None = None


class _Provider(_Model):
    id: str
    type: Literal["oidc", "oauth2", "github"]
    display_name: str = Field(min_length=1, max_length=100)
    icon: str | None = Field(None, max_length=200)
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    issuer: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None
    api_url: str | None = None
    scopes: list[str] | None = None
    claims: _Claims = _Claims()
    allowed_email_domains: list[str] = []
    default_role: Literal["USER", "ADMIN"] = "USER"
    allow_sign_up: bool = True
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post"] | None = None

    @model_validator(mode="after")
    def _check(self) -> _Provider:
        if not _ID.match(self.id):
            raise ValueError(f"id {self.id!r} must be 1-40 lower-case letters, digits, '-' or '_'")
        for name in ("issuer", "authorize_url", "token_url", "userinfo_url", "api_url"):
            url = getattr(self, name)
            if url is not None and not url.startswith(("https://", "http://")):
                raise ValueError(f"{to_camel(name)} must be an http(s) URL")
        if self.type == "oidc" and not self.issuer:
            raise ValueError("an oidc provider needs issuer (its discovery document is read from there)")
        if self.type == "oauth2":
            missing = [
                to_camel(n) for n in ("authorize_url", "token_url", "userinfo_url") if not getattr(self, n)
            ]
            if missing:
                raise ValueError(f"an oauth2 provider needs {', '.join(missing)}")
        return self

    def config(self) -> ProviderConfig:
        kind = ProviderType(self.type)
        base = _GITHUB_CLAIMS if kind is ProviderType.GITHUB else ClaimMapping()
        claims = ClaimMapping(
            subject=self.claims.subject or base.subject,
            email=self.claims.email or base.email,
            email_verified=self.claims.email_verified or base.email_verified,
            name=self.claims.name or base.name,
        )
        github = kind is ProviderType.GITHUB
        return ProviderConfig(
            id=self.id,
            type=kind,
            display_name=self.display_name,
            icon=self.icon,
            client_id=self.client_id,
            client_secret=self.client_secret,
            issuer=self.issuer.rstrip("/") if self.issuer else None,
            authorize_url=self.authorize_url or (GITHUB_AUTHORIZE_URL if github else None),
            token_url=self.token_url or (GITHUB_TOKEN_URL if github else None),
            userinfo_url=self.userinfo_url,
            api_url=(self.api_url or GITHUB_API_URL).rstrip("/") if github else None,
            scopes=tuple(self.scopes) if self.scopes is not None else _DEFAULT_SCOPES[kind],
            claims=claims,
            allowed_email_domains=tuple(d.strip().lower() for d in self.allowed_email_domains if d.strip()),
            default_role=UserRole(self.default_role),
            allow_signup=self.allow_sign_up,
            token_auth_method=self.token_endpoint_auth_method
            or ("client_secret_post" if github else "client_secret_basic"),
        )


def parse_providers(text: str) -> tuple[ProviderConfig, ...]:
    """The providers of the setting's JSON text (empty text: none). ``ValueError`` naming the setting,
    the entry and the problem when it is not valid."""
    if not text.strip():
        return ()
    try:
        raw: Any = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{SETTING} is not valid JSON: {exc}") from exc
    if not isinstance(raw, list):
        raise ValueError(f"{SETTING} must be a JSON list of providers")
    providers: list[ProviderConfig] = []
    for index, entry in enumerate(raw):
        try:
            providers.append(_Provider.model_validate(entry).config())
        except ValidationError as exc:
            problems = "; ".join(_problem(e["loc"], e["msg"]) for e in exc.errors())
            raise ValueError(f"{SETTING}[{index}] is not valid: {problems}") from None
    ids = [p.id for p in providers]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"{SETTING}: provider ids must be unique ({', '.join(duplicates)} repeated)")
    return tuple(providers)


def _problem(location: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    return f"{'.'.join(str(part) for part in location)}: {message}" if location else message
