"""Per-request DataLoaders: one batch per kind of lookup, made fresh for every request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from app.domain.users import User
from app.services.container import Services


@dataclass(frozen=True, slots=True)
class Loaders:
    users: DataLoader[str, User | None]


def make_loaders(services: Services) -> Loaders:
    async def load_users(ids: Sequence[str]) -> list[User | None]:
        return await services.people.many(ids)

    return Loaders(users=DataLoader(load_fn=load_users, max_batch_size=100))
