"""Is this server ready to take traffic? (The store answers.)"""

from __future__ import annotations

from app import errors
from app.ports import Store


class ReadinessService:
    def __init__(self, *, store: Store) -> None:
        self._store = store

    async def check(self) -> dict[str, str]:
        """Each dependency's state; raises ``Unavailable`` naming the first that fails."""
        try:
            await self._store.ping()
        except errors.Unavailable:
            raise
        except Exception as exc:
            raise errors.Unavailable("the store cannot be reached") from exc
        return {"store": "ok"}
