"""Directed graphs over hashable ids: deterministic topological order (Kahn) and cycle finding."""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class CycleError(ValueError, Generic[K]):
    """The edges form a cycle; ``cycle`` lists its ids in order (the first is not repeated at the end)."""

    def __init__(self, cycle: Sequence[K]) -> None:
        self.cycle: tuple[K, ...] = tuple(cycle)
        super().__init__("cycle: " + " → ".join(str(k) for k in (*self.cycle, self.cycle[0])))


def topological_order(nodes: Iterable[K], edges: Iterable[tuple[K, K]]) -> tuple[K, ...]:
    """``nodes`` ordered so every edge ``(a, b)`` has ``a`` before ``b`` (Kahn's algorithm).

    Deterministic: among the nodes that are ready, the one given first in ``nodes`` comes first, so an
    acyclic input keeps its own order wherever the edges allow. Edges whose ends are not in ``nodes`` are
    ignored; repeated edges count once. Raises :class:`CycleError` naming one cycle.
    """
    order, rest = _kahn(nodes, edges)
    if rest is not None:
        raise CycleError(rest)
    return order


def find_cycle(nodes: Iterable[K], edges: Iterable[tuple[K, K]]) -> tuple[K, ...] | None:
    """One cycle among ``edges`` as the ids along it (starting at the earliest given), or ``None``.

    A self-loop ``(a, a)`` is the cycle ``(a,)``.
    """
    _, cycle = _kahn(nodes, edges)
    return cycle


def _kahn(nodes: Iterable[K], edges: Iterable[tuple[K, K]]) -> tuple[tuple[K, ...], tuple[K, ...] | None]:
    index: dict[K, int] = {}
    for node in nodes:
        index.setdefault(node, len(index))
    ids = list(index)
    successors: list[list[int]] = [[] for _ in ids]
    predecessors: list[list[int]] = [[] for _ in ids]
    seen: set[tuple[int, int]] = set()
    for source, target in edges:
        if source not in index or target not in index:
            continue
        pair = (index[source], index[target])
        if pair in seen:
            continue
        seen.add(pair)
        successors[pair[0]].append(pair[1])
        predecessors[pair[1]].append(pair[0])
    indegree = [len(p) for p in predecessors]
    ready = [i for i, d in enumerate(indegree) if d == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        current = heapq.heappop(ready)
        order.append(current)
        for nxt in successors[current]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, nxt)
    if len(order) == len(ids):
        return tuple(ids[i] for i in order), None
    return tuple(ids[i] for i in order), tuple(ids[i] for i in _cycle_among(indegree, predecessors))


def _cycle_among(indegree: list[int], predecessors: list[list[int]]) -> list[int]:
    """A cycle among the nodes Kahn could not order: each still has an unordered predecessor."""
    left = {i for i, d in enumerate(indegree) if d > 0}
    current = min(left)
    walk: list[int] = []
    position: dict[int, int] = {}
    while current not in position:
        position[current] = len(walk)
        walk.append(current)
        current = min(p for p in predecessors[current] if p in left)
    cycle = walk[position[current] :]
    cycle.reverse()  # walked against the edges
    start = cycle.index(min(cycle))
    return cycle[start:] + cycle[:start]
