"""Personal API tokens: created by a signed-in user for one workspace and at most their role there,
shown once, stored as a hash; a request bearing one acts as that user limited to that workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from app import errors
from app.auth.opaque_tokens import API_TOKEN_PREFIX, digest, matches, mint, token_id
from app.domain.api_tokens import ApiToken
from app.domain.workspaces import MemberRole
from app.ports import ApiTokenStore, Clock, UserStore, WorkspaceStore
from app.services.auditing import Auditor
from app.services.identity import PrincipalCache
from app.services.principals import Principal

MAX_TOKEN_NAME = 100
MAX_TOKENS_PER_USER = 100
_RANK = {MemberRole.VIEWER: 0, MemberRole.EDITOR: 1, MemberRole.OWNER: 2}


def weaker(a: MemberRole, b: MemberRole) -> MemberRole:
    return a if _RANK[a] <= _RANK[b] else b


class ApiTokenServiceStore(ApiTokenStore, UserStore, WorkspaceStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class CreatedApiToken:
    token: ApiToken
    plaintext: str  # shown once


class ApiTokenService:
    def __init__(
        self,
        *,
        store: ApiTokenServiceStore,
        clock: Clock,
        auditor: Auditor,
        principals: PrincipalCache,
        touch_every: timedelta,
    ) -> None:
        self._store = store
        self._clock = clock
        self._auditor = auditor
        self._principals = principals
        self._touch_every = touch_every
        self._expiry: dict[str, datetime] = {}

    async def create(
        self,
        principal: Principal,
        *,
        name: str,
        workspace_id: str,
        role: MemberRole,
        expires_at: datetime | None,
    ) -> CreatedApiToken:
        principal.require_session()
        name = name.strip()
        now = self._clock.now()
        async with self._auditor.action(
            "api_token.create", actor_id=principal.user_id, target_type="api_token", workspace_id=workspace_id
        ) as record:
            if await self._store.get_workspace(principal.scope, workspace_id) is None:
                raise errors.NotFound("workspace", workspace_id)
            problems = []
            if not name or len(name) > MAX_TOKEN_NAME:
                problems.append(errors.FieldError("name", f"must be 1 to {MAX_TOKEN_NAME} characters"))
            own = principal.role_in(workspace_id)
            if own is None or weaker(role, own) is not role:
                problems.append(errors.FieldError("role", "must not exceed your own role in the workspace"))
            if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
                problems.append(errors.FieldError("expiresAt", "must be a future time with a time zone"))
            if problems:
                raise errors.Invalid("the API token is not valid", problems)
            if len(await self._store.list_api_tokens(principal.user_id)) >= MAX_TOKENS_PER_USER:
                raise errors.Conflict(f"you have {MAX_TOKENS_PER_USER} API tokens: revoke some first")
            minted = mint(API_TOKEN_PREFIX)
            token = ApiToken(
                id=minted.id,
                user_id=principal.user_id,
                workspace_id=workspace_id,
                name=name,
                role=role,
                token_hash=minted.digest,
                created_at=now,
                expires_at=expires_at,
            )
            record.target_id = token.id
            record.detail = {"name": name, "role": role.value}
            await self._store.insert_api_token(token)
            return CreatedApiToken(token=token, plaintext=minted.plaintext)

    async def mine(self, principal: Principal) -> list[ApiToken]:
        return await self._store.list_api_tokens(principal.user_id)

    async def revoke(self, principal: Principal, token_id_: str) -> ApiToken:
        async with self._auditor.action(
            "api_token.revoke", actor_id=principal.user_id, target_type="api_token", target_id=token_id_
        ) as record:
            token = await self._store.get_api_token(token_id_)
            if token is None or token.user_id != principal.user_id:
                raise errors.NotFound("API token", token_id_)
            record.workspace_id = token.workspace_id
            await self._store.revoke_api_token(principal.user_id, token.id, self._clock.now())
            self._principals.clear()
            revoked = await self._store.get_api_token(token.id)
            return revoked or token

    async def authenticate(self, plaintext: str) -> Principal:
        """The principal of a personal API token: its user, limited to its workspace and to the weaker
        of the token's role and the user's current role there. Re-checked like sessions (short cache)."""
        key = f"api-token:{digest(plaintext)}"
        cached = self._principals.get(key)
        expires_at = self._expiry.get(key)
        if cached is not None and (expires_at is None or self._clock.now() < expires_at):
            return cached
        ident = token_id(API_TOKEN_PREFIX, plaintext)
        token = None if ident is None else await self._store.get_api_token(ident)
        if token is None or not matches(plaintext, token.token_hash):
            raise errors.Unauthenticated("the API token is unknown or revoked")
        now = self._clock.now()
        if token.revoked_at is not None:
            raise errors.Unauthenticated("the API token is unknown or revoked")
        if not token.usable(now):
            raise errors.Unauthenticated("the API token has expired; create a new one")
        user = await self._store.get_user(token.user_id)
        if user is None or user.disabled:
            raise errors.Unauthenticated("the account of this API token is no longer active")
        role = next(
            (
                m.role
                for m in await self._store.memberships_of_user(user.id)
                if m.workspace_id == token.workspace_id
            ),
            None,
        )
        if role is None:
            raise errors.Unauthenticated("the owner of this API token is no longer a member of its workspace")
        if token.last_used_at is None or now - token.last_used_at >= self._touch_every:
            await self._store.touch_api_token(token.id, now)
        principal = Principal(
            user=user,
            session_id=key,
            roles={token.workspace_id: weaker(token.role, role)},
            api_token_id=token.id,
        )
        self._principals.put(principal)
        if token.expires_at is not None:
            self._expiry[key] = token.expires_at  # a cached principal never outlives its token
        return principal
