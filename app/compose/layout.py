"""Positions by role: config and secrets, services and ingresses, workloads, storage; 200 px rows."""

from __future__ import annotations

COLUMN_X = {
    "ConfigMap": 100.0,
    "Secret": 100.0,
    "Service": 400.0,
    "Ingress": 400.0,
    "PersistentVolumeClaim": 1000.0,
}
WORKLOAD_X = 700.0
ROW = 200.0
TOP = 100.0


def column_x(kind: str) -> float:
    """The x of a node of ``kind`` (workloads in the third column)."""
    return COLUMN_X.get(kind, WORKLOAD_X)


class Rows:
    """Hands out the next free row of each column, so a workload can sit level with its Service."""

    def __init__(self) -> None:
        self._next: dict[float, int] = {}

    def take(self, kind: str, at_least: int = 0) -> tuple[float, float]:
        """The position of the next node of ``kind``, no higher than row ``at_least``."""
        x = column_x(kind)
        row = max(self._next.get(x, 0), at_least)
        self._next[x] = row + 1
        return x, TOP + row * ROW

    def next_row(self, kind: str) -> int:
        """The row the next node of ``kind`` would take."""
        return self._next.get(column_x(kind), 0)
