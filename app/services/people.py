"""People: looking users up (for ``createdBy`` and member lists) and administering them (admins only):
listing, roles, disabling, deleting with their workspaces handed over or removed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from app import errors
from app.domain.paging import Page
from app.domain.people import WorkspaceDisposal
from app.domain.users import User, UserRole
from app.ports import Clock, UserAdminStore, UserKey, UserStore
from app.services.auditing import Auditor, AuditRecord
from app.services.identity import PrincipalCache
from app.services.paging import PageRules, decode_cursor, encode_cursor
from app.services.principals import Principal

MAX_SEARCH = 100
USERS_CURSOR = "users"


class PeopleStore(UserStore, UserAdminStore, Protocol):
    pass


def user_cursor(user: User) -> str:
    return encode_cursor(USERS_CURSOR, [user.email, user.id])


class PeopleService:
    def __init__(
        self,
        *,
        store: PeopleStore,
        clock: Clock,
        auditor: Auditor,
        principals: PrincipalCache,
        paging: PageRules,
    ) -> None:
        self._store = store
        self._clock = clock
        self._auditor = auditor
        self._principals = principals
        self._paging = paging

    async def many(self, user_ids: Sequence[str]) -> list[User | None]:
        return [await self._store.get_user(user_id) for user_id in user_ids]

    async def find(
        self, principal: Principal, *, search: str | None, first: int | None, after: str | None
    ) -> Page[User]:
        principal.require_admin()
        search = (search or "").strip() or None
        if search is not None and len(search) > MAX_SEARCH:
            raise errors.Invalid.field("search", f"must be at most {MAX_SEARCH} characters")
        key: UserKey | None = None
        if after is not None:
            raw = decode_cursor(USERS_CURSOR, after)
            if len(raw) != 2 or not all(isinstance(part, str) for part in raw):
                raise errors.Invalid.field("after", "is not a cursor of this list")
            key = (raw[0], raw[1])
        return await self._store.list_users(search, self._paging.size(first), key)

    async def set_role(self, principal: Principal, user_id: str, role: UserRole) -> User:
        async with self._admin_action(principal, "user.set_role", user_id) as record:
            record.detail = {"role": role.value}
            user = await self._store.set_user_role(user_id, role, self._clock.now())
        self._principals.clear()
        return user

    async def set_disabled(self, principal: Principal, user_id: str, disabled: bool) -> User:
        """Disabling also ends every session of the user (in the same write)."""
        action = "user.disable" if disabled else "user.enable"
        async with self._admin_action(principal, action, user_id):
            user = await self._store.set_user_disabled(user_id, disabled, self._clock.now())
        self._principals.clear()
        return user

    async def delete(self, principal: Principal, user_id: str, disposal: WorkspaceDisposal) -> list[str]:
        """Delete the user; the workspaces they solely own are handed over or deleted as ``disposal``
        says. Without a choice, only empty unshared workspaces go; others are a ``CONFLICT`` naming
        them. Returns the ids of the deleted workspaces."""
        async with self._admin_action(principal, "user.delete", user_id) as record:
            if disposal.hand_over_to is not None and disposal.delete:
                raise errors.Invalid.field("workspaces", "hand over or delete, not both")
            if await self._store.get_user(user_id) is None:
                raise errors.NotFound("user", user_id)
            successor = disposal.hand_over_to
            if successor is not None:
                heir = await self._store.get_user(successor)
                if heir is None or successor == user_id:
                    raise errors.Invalid.field("workspaces.handOverTo", "must name another existing user")
                if heir.disabled:
                    raise errors.Invalid.field("workspaces.handOverTo", "that user is disabled")
                record.detail = {"handOverTo": successor}
            elif not disposal.delete:
                undecided = [w for w in await self._store.owned_workspaces(user_id) if w.needs_decision]
                if undecided:
                    raise errors.Conflict(
                        "the user is the only owner of workspaces with other members or content: "
                        + ", ".join(repr(w.name) for w in undecided)
                        + "; choose workspaces: {handOverTo: <userId>} or {delete: true}",
                        {"workspaceIds": [w.workspace_id for w in undecided]},
                    )
            deleted = await self._store.delete_user(user_id, self._clock.now(), hand_over_to=successor)
            record.detail = {**record.detail, "deletedWorkspaces": str(len(deleted))}
        self._principals.clear()
        return deleted

    @asynccontextmanager
    async def _admin_action(
        self, principal: Principal, action: str, user_id: str
    ) -> AsyncIterator[AuditRecord]:
        """An audited block that only admins may run (a refusal is audited too)."""
        async with self._auditor.action(
            action, actor_id=principal.user_id, target_type="user", target_id=user_id
        ) as record:
            principal.require_admin()
            yield record
