"""Resolvers for the egress guard's tests: a fixed table of answers (recording what was asked)."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence


class TableResolver:
    """Answers from ``table`` (host → addresses); an unknown host fails as the system resolver does."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self.table = dict(table)
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])
