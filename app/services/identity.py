"""Sign-up, sign-in, token refresh, sign-out, and resolving a bearer token to a ``Principal``."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from app import errors
from app.auth.passwords import MAX_PASSWORD_BYTES, PasswordHasher
from app.auth.tokens import TokenCodec, TokenError
from app.domain.ids import new_id
from app.domain.users import Session, User, UserRole
from app.domain.workspaces import Workspace
from app.ports import Clock, SessionStore, UserStore, WorkspaceStore
from app.services.auditing import Auditor
from app.services.principals import Principal
from app.services.signup import SignupPolicy, SignupRules

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 100


class IdentityStore(UserStore, SessionStore, WorkspaceStore, Protocol):
    pass


# Resolves a bearer token of another scheme (a personal API token) to its principal.
BearerResolver = Callable[[str], Awaitable[Principal]]


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    expires_at: datetime
    user: User


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    refresh_max_age: timedelta
    session_cache_seconds: float
    min_password_length: int


class PrincipalCache:
    """A few seconds of memory for resolved principals, so every request need not hit the store.

    Local writes that change who may do what (logout, membership changes) clear it at once.
    """

    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, session_id: str) -> Principal | None:
        entry = self._entries.get(session_id)
        if entry is None or entry[0] < time.monotonic():
            self._entries.pop(session_id, None)
            return None
        return entry[1]

    def put(self, principal: Principal) -> None:
        if self._ttl > 0:
            self._entries[principal.session_id] = (time.monotonic() + self._ttl, principal)

    def clear(self) -> None:
        self._entries.clear()


class IdentityService:
    def __init__(
        self,
        *,
        store: IdentityStore,
        hasher: PasswordHasher,
        tokens: TokenCodec,
        clock: Clock,
        auditor: Auditor,
        policy: IdentityPolicy,
        signup: SignupPolicy | None = None,
    ) -> None:
        self._store = store
        self.signup = signup or SignupPolicy(SignupRules())
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock
        self._auditor = auditor
        self._policy = policy
        self.cache = PrincipalCache(policy.session_cache_seconds)
        self._schemes: dict[str, BearerResolver] = {}

    async def register(
        self, *, email: str, password: str, name: str, invitation_token: str | None = None
    ) -> SignedIn:
        email = _clean_email(email)
        name = name.strip()
        problems = []
        if not EMAIL_RE.match(email) or len(email) > MAX_EMAIL_LENGTH:
            problems.append(errors.FieldError("email", "must be an e-mail address"))
        if not name or len(name) > MAX_NAME_LENGTH:
            problems.append(errors.FieldError("name", f"must be 1 to {MAX_NAME_LENGTH} characters"))
        if len(password) < self._policy.min_password_length:
            problems.append(
                errors.FieldError(
                    "password", f"must be at least {self._policy.min_password_length} characters"
                )
            )
        elif len(password.encode()) > MAX_PASSWORD_BYTES:
            problems.append(errors.FieldError("password", f"must be at most {MAX_PASSWORD_BYTES} bytes"))
        if problems:
            raise errors.Invalid("the registration is not valid", problems)
        self.signup.check_password_signup(email)

        async with self._auditor.action("auth.register", actor_id=None, target_type="user") as record:
            if await self._store.get_user_by_email(email) is not None:
                raise errors.Conflict("a user with this e-mail already exists")
            grant = await self.signup.admit(email, invitation_token)
            now = self._clock.now()
            user = User(
                id=new_id(),
                email=email,
                name=name,
                password_hash=await self._hasher.hash(password),
                role=UserRole.USER,
                disabled=False,
                created_at=now,
                updated_at=now,
            )
            workspace = Workspace(
                id=new_id(), name=f"{name}'s workspace", personal=True, created_by=user.id, created_at=now
            )
            if grant is None:
                stored = await self._store.create_user(user, workspace)
            else:  # the account, the invitation used up and its membership: one atomic write
                stored = await self.signup.create_invited(grant, user, workspace)
            record.actor_id = record.target_id = stored.id
            record.workspace_id = workspace.id
            return await self._open_session(stored)

    async def login(self, *, email: str, password: str) -> SignedIn:
        email = _clean_email(email)
        self.signup.require_password_login()
        async with self._auditor.action("auth.login", actor_id=None, target_type="user") as record:
            user = await self._store.get_user_by_email(email)
            if user is None:
                # The trail keeps the domain of an unknown address, never the address: people type
                # passwords into the e-mail field, and the domain is enough to see an attack's target.
                domain = email.rpartition("@")[2] if EMAIL_RE.match(email) else ""
                record.detail = {"reason": "unknown account", "emailDomain": domain or "(not an e-mail)"}
                await self._hasher.burn(password)
                raise errors.Unauthenticated("the e-mail or password is wrong")
            record.target_id = user.id
            if not await self._hasher.verify(password, user.password_hash):
                record.detail = {"reason": "wrong password"}
                raise errors.Unauthenticated("the e-mail or password is wrong")
            if user.disabled:
                record.detail = {"reason": "account disabled"}
                raise errors.Unauthenticated("this account is disabled")
            record.actor_id = user.id
            return await self._open_session(user)

    async def refresh(self, token: str) -> SignedIn:
        """A new token for the same session, while its login is younger than the refresh window."""
        now = self._clock.now()
        try:
            claims = self._tokens.verify(token, now=now, allow_expired=True)
        except TokenError as exc:
            raise errors.Unauthenticated(exc.reason) from exc
        async with self._auditor.action(
            "auth.refresh", actor_id=claims.user_id, target_type="session", target_id=claims.session_id
        ):
            session = await self._store.get_session(claims.session_id)
            if session is None or not session.active or session.user_id != claims.user_id:
                raise errors.Unauthenticated("this session has ended; sign in again")
            if now - session.created_at > self._policy.refresh_max_age:
                raise errors.Unauthenticated("this sign-in is too old to refresh; sign in again")
            user = await self._store.get_user(claims.user_id)
            if user is None or user.disabled:
                raise errors.Unauthenticated("this account is no longer active")
            return self._signed_in(user, session)

    async def logout(self, principal: Principal) -> None:
        async with self._auditor.action(
            "auth.logout", actor_id=principal.user_id, target_type="session", target_id=principal.session_id
        ):
            await self._store.revoke_session(principal.session_id, self._clock.now())
            self.cache.clear()

    def accept_bearer(self, prefix: str, resolver: BearerResolver) -> None:
        """Resolve bearer tokens that start with ``prefix`` (personal API tokens) with ``resolver``."""
        self._schemes[prefix] = resolver

    async def authenticate(self, token: str) -> Principal:
        """Resolve a bearer token; the session, the user and the roles are re-checked (briefly cached)."""
        for prefix, resolver in self._schemes.items():
            if token.startswith(prefix):
                return await resolver(token)
        try:
            claims = self._tokens.verify(token, now=self._clock.now())
        except TokenError as exc:
            raise errors.Unauthenticated(exc.reason) from exc
        cached = self.cache.get(claims.session_id)
        if cached is not None and cached.user_id == claims.user_id:
            return cached
        session = await self._store.get_session(claims.session_id)
        if session is None or not session.active or session.user_id != claims.user_id:
            raise errors.Unauthenticated("this session has ended; sign in again")
        user = await self._store.get_user(claims.user_id)
        if user is None or user.disabled:
            raise errors.Unauthenticated("this account is no longer active")
        memberships = await self._store.memberships_of_user(user.id)
        principal = Principal(
            user=user, session_id=session.id, roles={m.workspace_id: m.role for m in memberships}
        )
        self.cache.put(principal)
        return principal

    def signed_in(self, user: User, session: Session) -> SignedIn:
        """A fresh token for an existing session (the one-time code exchange of an OAuth sign-in)."""
        return self._signed_in(user, session)

    async def _open_session(self, user: User) -> SignedIn:
        session = Session(id=new_id(), user_id=user.id, created_at=self._clock.now())
        await self._store.create_session(session)
        return self._signed_in(user, session)

    def _signed_in(self, user: User, session: Session) -> SignedIn:
        now = self._clock.now()
        token = self._tokens.issue(
            user_id=user.id, session_id=session.id, auth_time=session.created_at, now=now
        )
        return SignedIn(token=token, expires_at=now + self._tokens.ttl, user=user)


def _clean_email(email: str) -> str:
    return email.strip().lower()
