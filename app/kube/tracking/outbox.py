"""What a cluster's publisher has to tell the sink, in order: node recomputations (merged while they
wait, so a burst of watch events costs one pass and the queue stays bounded) and the cluster's
down / up / resync-done signals between them."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from app.kube.tracking.state import NodeRef


@dataclass(slots=True)
class Recompute:
    """Recompute these nodes from the objects known when it is delivered; tell the changes."""

    nodes: set[NodeRef] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class ClusterDown:
    reason: str


@dataclass(frozen=True, slots=True)
class ClusterUp:
    pass


@dataclass(frozen=True, slots=True)
class BatchDone:
    """A resync batch is complete: recompute every node of these workflows, then say ``resynced``."""

    workflows: frozenset[str]


Item = Recompute | ClusterDown | ClusterUp | BatchDone


class Outbox:
    def __init__(self) -> None:
        self._items: deque[Item] = deque()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def nodes(self, refs: Iterable[NodeRef]) -> None:
        refs = set(refs)
        if not refs:
            return
        last = self._items[-1] if self._items else None
        if isinstance(last, Recompute):
            last.nodes |= refs
        else:
            self._items.append(Recompute(refs))
        self._ready.set()

    def put(self, item: ClusterDown | ClusterUp | BatchDone) -> None:
        self._items.append(item)
        self._ready.set()

    def pop(self) -> Item | None:
        return self._items.popleft() if self._items else None

    async def wait(self) -> None:
        """Until something was put since the last wait."""
        await self._ready.wait()
        self._ready.clear()
