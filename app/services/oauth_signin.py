"""Sign-in through OAuth2 / OpenID Connect providers, end to end.

``begin`` starts an authorization request: a random ``state`` (kept server-side, hashed, with its PKCE
``code_verifier``, the OIDC ``nonce`` and the front-end path to return to, until it expires) and the
provider's URL to send the browser to. ``complete`` handles the provider's redirect back: the state is
consumed (once), the code exchanged, the profile read (the gateway verifies the id_token), the user found
or created, a session opened, and the browser sent to the front end with a one-time code (stored hashed,
valid ``TRELLIS_OAUTH_CODE_SECONDS``). ``exchange`` trades that code for the session's token.

Accounts link by (provider, subject) first. By e-mail only when the provider says the address is verified,
and never to an account already linked to another provider identity. New accounts need a verified address
in the provider's allowed domains, the provider's ``allowSignUp`` and, when the server requires it, an
invitation (given to ``authorize`` as ``invitation``); the account, its identity, the invitation used up
and the membership it gives are one atomic write. Every outcome is audited as ``auth.oauth.login`` with the
failure's short code in ``detail.reason``.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol
from urllib.parse import urlencode, urlsplit

from app import errors
from app.domain.identities import (
    OAuthCode,
    OAuthState,
    Profile,
    ProviderConfig,
    ProviderType,
    SignInFailure,
    UserIdentity,
    digest,
)
from app.domain.ids import new_id
from app.domain.users import Session, User
from app.domain.workspaces import Workspace
from app.ports import (
    Clock,
    IdentityLinkStore,
    OAuthFailed,
    OAuthGateway,
    SessionStore,
    UserStore,
)
from app.services.auditing import Auditor, AuditRecord
from app.services.identity import MAX_NAME_LENGTH, IdentityService, SignedIn
from app.services.signup import InvitationRequired, SignupPolicy

log = logging.getLogger(__name__)

CALLBACK_PATH = "/v1/auth/oauth/{provider}/callback"
LOGIN_PATH = "/login"
CALLBACK_PAGE = "/auth/callback"
MAX_REDIRECT_LENGTH = 2000
_SAFE_PATH = re.compile(r"^/(?![/\\])[^\x00-\x20\x7f\\]*$")


class OAuthSignInStore(IdentityLinkStore, UserStore, SessionStore, Protocol):
    pass


class SignInFailed(errors.Unauthenticated):
    """A sign-in through a provider failed; ``reason`` is the short code for the front end."""

    def __init__(self, reason: SignInFailure, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def extensions(self) -> dict[str, object]:
        return {**super().extensions(), "reason": self.reason.value.upper()}


@dataclass(frozen=True, slots=True)
class OAuthTiming:
    state_ttl: timedelta
    code_ttl: timedelta


@dataclass(frozen=True, slots=True)
class ProviderChoice:
    """A provider as the login page shows it (no endpoints, no secrets)."""

    id: str
    display_name: str
    icon: str | None
    type: ProviderType


@dataclass(frozen=True, slots=True)
class AuthMethods:
    password_login: bool
    password_signup: bool
    invitation_required: bool
    providers: tuple[ProviderChoice, ...]


class OAuthSignIn:
    def __init__(
        self,
        *,
        providers: tuple[ProviderConfig, ...],
        gateway: OAuthGateway,
        store: OAuthSignInStore,
        identity: IdentityService,
        clock: Clock,
        auditor: Auditor,
        public_url: str,
        frontend_url: str,
        timing: OAuthTiming,
    ) -> None:
        self._providers = {p.id: p for p in providers}
        self._gateway = gateway
        self._store = store
        self._identity = identity
        self._clock = clock
        self._auditor = auditor
        self._public_url = public_url.rstrip("/")
        self._frontend_url = frontend_url.rstrip("/")
        self._timing = timing

    @property
    def _signup(self) -> SignupPolicy:
        return self._identity.signup

    def methods(self) -> AuthMethods:
        return AuthMethods(
            password_login=self._signup.rules.password_login,
            password_signup=self._signup.password_signup,
            invitation_required=self._signup.rules.requires_invitation,
            providers=tuple(
                ProviderChoice(p.id, p.display_name, p.icon, p.type) for p in self._providers.values()
            ),
        )

    def callback_uri(self, provider_id: str) -> str:
        return self._public_url + CALLBACK_PATH.format(provider=provider_id)

    def login_page(self, failure: SignInFailure | str) -> str:
        """Where a failed sign-in lands: the front end's login page with the short code."""
        reason = failure.value if isinstance(failure, SignInFailure) else failure
        return f"{self._frontend_url}{LOGIN_PATH}?{urlencode({'error': reason})}"

    # -- authorize --------------------------------------------------------------------------------------

    async def begin(self, provider_id: str, *, redirect: str | None, invitation: str | None) -> str:
        """The provider's authorization URL for a new request (``SignInFailed`` when it cannot start)."""
        provider = self._provider(provider_id)
        path = self._safe_redirect(redirect)
        state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(64)
        nonce = secrets.token_urlsafe(24) if provider.type is ProviderType.OIDC else None
        now = self._clock.now()
        try:
            url = await self._gateway.authorization_url(
                provider,
                state=state,
                code_verifier=verifier,
                nonce=nonce,
                redirect_uri=self.callback_uri(provider.id),
            )
        except OAuthFailed as exc:
            log.warning("sign-in with %s cannot start: %s", provider.id, exc.detail)
            raise SignInFailed(exc.reason, f"the provider cannot be reached: {exc.detail}") from exc
        await self._store.create_oauth_state(
            OAuthState(
                id=digest(state),
                provider=provider.id,
                code_verifier=verifier,
                nonce=nonce,
                redirect=path,
                invitation=(invitation or "").strip() or None,
                expires_at=now + self._timing.state_ttl,
            ),
            # Expired states are kept one more lifetime, so a late callback hears "expired", not "invalid".
            sweep_before=now - self._timing.state_ttl,
        )
        return url

    # -- callback ---------------------------------------------------------------------------------------

    async def complete(
        self, provider_id: str, *, state: str | None, code: str | None, error: str | None
    ) -> str:
        """The front-end URL to send the browser to: its callback page with a one-time code. Failures
        raise ``SignInFailed`` (the caller sends the browser to :meth:`login_page`)."""
        async with self._auditor.action("auth.oauth.login", actor_id=None, target_type="user") as record:
            record.detail = {"provider": provider_id[:40]}
            try:
                return await self._complete(record, provider_id, state=state, code=code, error=error)
            except SignInFailed as exc:
                record.detail["reason"] = exc.reason.value
                raise

    async def _complete(
        self, record: AuditRecord, provider_id: str, *, state: str | None, code: str | None, error: str | None
    ) -> str:
        provider = self._provider(provider_id)
        pending = await self._store.consume_oauth_state(digest(state)) if state else None
        if pending is None or pending.provider != provider.id:
            raise SignInFailed(SignInFailure.STATE_INVALID, "this sign-in was not started here, or is used")
        if pending.expires_at <= self._clock.now():
            raise SignInFailed(SignInFailure.STATE_EXPIRED, "this sign-in took too long; start again")
        if error:
            raise SignInFailed(SignInFailure.PROVIDER_ERROR, f"the provider refused: {error[:100]}")
        if not code:
            raise SignInFailed(SignInFailure.EXCHANGE_FAILED, "the provider sent no code")
        try:
            profile = await self._gateway.profile(
                provider,
                code=code,
                code_verifier=pending.code_verifier,
                nonce=pending.nonce,
                redirect_uri=self.callback_uri(provider.id),
            )
        except OAuthFailed as exc:
            log.warning("sign-in with %s failed: %s", provider.id, exc.detail)
            raise SignInFailed(exc.reason, exc.detail) from exc
        user = await self._find_or_create(provider, profile, pending.invitation)
        record.actor_id = record.target_id = user.id
        if user.disabled:
            raise SignInFailed(SignInFailure.USER_DISABLED, "this account is disabled")
        now = self._clock.now()
        session = Session(id=new_id(), user_id=user.id, created_at=now)
        await self._store.create_session(session)
        one_time = secrets.token_urlsafe(32)
        await self._store.create_oauth_code(
            OAuthCode(digest(one_time), user.id, session.id, now + self._timing.code_ttl), now=now
        )
        query = urlencode({"code": one_time, "redirect": pending.redirect})
        return f"{self._frontend_url}{CALLBACK_PAGE}?{query}"

    async def _find_or_create(
        self, provider: ProviderConfig, profile: Profile, invitation: str | None
    ) -> User:
        if provider.allowed_email_domains and not (profile.email and provider.allows_email(profile.email)):
            raise SignInFailed(
                SignInFailure.DOMAIN_NOT_ALLOWED, "this provider is open to some e-mail domains only"
            )
        linked = await self._store.get_identity(provider.id, profile.subject)
        if linked is not None:
            user = await self._store.get_user(linked.user_id)
            if user is not None:
                return user
        if not profile.email:
            raise SignInFailed(SignInFailure.PROFILE_INVALID, "the provider gave no e-mail address")
        if not profile.email_verified:
            raise SignInFailed(
                SignInFailure.EMAIL_UNVERIFIED, "the provider does not vouch for this e-mail address"
            )
        now = self._clock.now()
        identity = UserIdentity(provider.id, profile.subject, "", profile.email, now)
        existing = await self._store.get_user_by_email(profile.email)
        if existing is not None:
            if await self._store.identities_of_user(existing.id):
                raise SignInFailed(
                    SignInFailure.EMAIL_LINKED_ELSEWHERE,
                    "an account with this e-mail address signs in with another provider account",
                )
            await self._store.link_identity(
                UserIdentity(provider.id, profile.subject, existing.id, profile.email, now)
            )
            return existing
        if not provider.allow_signup:
            raise SignInFailed(SignInFailure.SIGNUP_DISABLED, "this provider does not create new accounts")
        try:
            grant = await self._signup.admit(profile.email, invitation)
        except InvitationRequired as exc:
            raise SignInFailed(SignInFailure.INVITATION_REQUIRED, exc.message) from exc
        except errors.Invalid as exc:
            raise SignInFailed(SignInFailure.INVITATION_INVALID, exc.message) from exc
        name = (profile.name or profile.email.split("@")[0])[:MAX_NAME_LENGTH]
        user = User(
            id=new_id(),
            email=profile.email,
            name=name,
            password_hash="",  # signs in through the provider only, until a password is set
            role=provider.default_role,
            disabled=False,
            created_at=now,
            updated_at=now,
        )
        workspace = Workspace(
            id=new_id(), name=f"{name}'s workspace", personal=True, created_by=user.id, created_at=now
        )
        if grant is None:
            return await self._store.create_user_with_identity(user, workspace, identity)
        try:  # the account, its identity, the invitation used up and its membership: one atomic write
            return await self._signup.create_invited(grant, user, workspace, identity)
        except errors.Invalid as exc:
            raise SignInFailed(SignInFailure.INVITATION_INVALID, exc.message) from exc

    # -- exchange ---------------------------------------------------------------------------------------

    async def exchange(self, code: str) -> SignedIn:
        """The session's token for a one-time code; ``UNAUTHENTICATED`` when unknown, used or expired."""
        async with self._auditor.action(
            "auth.oauth.exchange", actor_id=None, target_type="session"
        ) as record:
            found = (
                await self._store.consume_oauth_code(digest(code), now=self._clock.now()) if code else None
            )
            if found is None:
                raise errors.Unauthenticated("this sign-in code is unknown, used or expired; sign in again")
            record.actor_id, record.target_id = found.user_id, found.session_id
            session = await self._store.get_session(found.session_id)
            user = await self._store.get_user(found.user_id)
            if session is None or not session.active or user is None or user.disabled:
                raise errors.Unauthenticated("this sign-in has ended; sign in again")
            return self._identity.signed_in(user, session)

    # -- helpers ----------------------------------------------------------------------------------------

    def _provider(self, provider_id: str) -> ProviderConfig:
        provider = self._providers.get(provider_id)
        if provider is None:
            raise SignInFailed(SignInFailure.PROVIDER_UNKNOWN, "no such sign-in provider")
        return provider

    def _safe_redirect(self, redirect: str | None) -> str:
        """A path on the front end (``/workflows/42``); a full URL only when it is on the front end's
        origin (it becomes its path). Anything else is refused: no open redirect."""
        if not redirect:
            return "/"
        if len(redirect) > MAX_REDIRECT_LENGTH:
            raise SignInFailed(SignInFailure.REDIRECT_INVALID, "the redirect is too long")
        if redirect.startswith(self._frontend_url + "/"):
            redirect = redirect[len(self._frontend_url) :]
        parts = urlsplit(redirect)
        if parts.scheme or parts.netloc or not _SAFE_PATH.match(redirect):
            raise SignInFailed(SignInFailure.REDIRECT_INVALID, "the redirect must be a path on the front end")
        return redirect
