"""A user's own sign-in sessions: list them, end one, or end them all ("sign out everywhere")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app import errors
from app.domain.users import Session
from app.ports import Clock, SessionStore, UserStore
from app.services.auditing import Auditor
from app.services.identity import PrincipalCache
from app.services.principals import Principal


class SessionServiceStore(SessionStore, UserStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class SessionView:
    session: Session
    current: bool  # the session of the calling request


class SessionService:
    def __init__(
        self, *, store: SessionServiceStore, clock: Clock, auditor: Auditor, principals: PrincipalCache
    ) -> None:
        self._store = store
        self._clock = clock
        self._auditor = auditor
        self._principals = principals

    async def mine(self, principal: Principal) -> list[SessionView]:
        principal.require_session()
        sessions = await self._store.list_sessions(principal.user_id)
        return [SessionView(s, s.id == principal.session_id) for s in sessions]

    async def revoke(self, principal: Principal, session_id: str) -> None:
        """End one of the caller's own sessions (another user's is ``NOT_FOUND``)."""
        principal.require_session()
        async with self._auditor.action(
            "session.revoke", actor_id=principal.user_id, target_type="session", target_id=session_id
        ):
            session = await self._store.get_session(session_id)
            if session is None or session.user_id != principal.user_id or not session.active:
                raise errors.NotFound("session", session_id)
            await self._store.revoke_session(session_id, self._clock.now())
            self._principals.clear()

    async def sign_out_everywhere(self, principal: Principal, user_id: str | None = None) -> int:
        """End every session of the caller, or, for an admin, of ``user_id``; how many ended."""
        principal.require_session()
        target = user_id or principal.user_id
        async with self._auditor.action(
            "session.revoke_all", actor_id=principal.user_id, target_type="user", target_id=target
        ) as record:
            if target != principal.user_id:
                principal.require_admin()
                if await self._store.get_user(target) is None:
                    raise errors.NotFound("user", target)
            ended = await self._store.revoke_sessions(target, self._clock.now())
            record.detail = {"sessions": str(ended)}
            self._principals.clear()
            return ended
