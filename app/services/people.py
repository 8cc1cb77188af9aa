"""Looking up users by id (for ``createdBy`` and member lists)."""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.users import User
from app.ports import UserStore


class PeopleService:
    def __init__(self, *, store: UserStore) -> None:
        self._store = store

    async def many(self, user_ids: Sequence[str]) -> list[User | None]:
        return [await self._store.get_user(user_id) for user_id in user_ids]
