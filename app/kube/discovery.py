"""apiVersion + kind → REST resource, from the API server's discovery documents (cached per session).

One ``GET /api/v1`` or ``GET /apis/<group>/<version>`` per group-version the session touches; a
group-version the server does not serve (404) is remembered as empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from app.kube.endpoints import invalid

# Fetches a discovery document; None when the server answers 404.
Fetch = Callable[[str], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True, slots=True)
class Resource:
    api_version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def _prefix(self) -> str:
        return f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"

    def collection_path(self, namespace: str | None) -> str:
        """The list/create path: one namespace's, or (namespace None) the whole cluster's."""
        if self.namespaced and namespace:
            return f"{self._prefix}/namespaces/{quote(namespace, safe='')}/{self.plural}"
        return f"{self._prefix}/{self.plural}"

    def item_path(self, name: str, namespace: str | None) -> str:
        return f"{self.collection_path(namespace if self.namespaced else None)}/{quote(name, safe='')}"


def discovery_path(api_version: str) -> str:
    parts = api_version.split("/")
    if not api_version or len(parts) > 2 or not all(parts):
        raise invalid("apiVersion", f"{api_version!r} is not an apiVersion such as 'v1' or 'apps/v1'")
    return f"/api/{api_version}" if len(parts) == 1 else f"/apis/{api_version}"


class Discovery:
    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._kinds: dict[str, dict[str, Resource]] = {}
        self._lock = asyncio.Lock()

    async def resolve(self, api_version: str, kind: str) -> Resource | None:
        """The resource serving ``kind`` in ``api_version``, or None if the cluster serves no such kind."""
        path = discovery_path(api_version)
        kinds = self._kinds.get(api_version)
        if kinds is None:
            async with self._lock:
                kinds = self._kinds.get(api_version)
                if kinds is None:
                    kinds = _kinds(api_version, await self._fetch(path))
                    self._kinds[api_version] = kinds
        return kinds.get(kind)


def _kinds(api_version: str, document: dict[str, Any] | None) -> dict[str, Resource]:
    kinds: dict[str, Resource] = {}
    for entry in (document or {}).get("resources") or []:
        if not isinstance(entry, dict):
            continue
        name, kind = entry.get("name"), entry.get("kind")
        if not isinstance(name, str) or not isinstance(kind, str) or "/" in name:
            continue  # subresources (deployments/status) share the kind of their parent
        kinds.setdefault(kind, Resource(api_version, kind, name, bool(entry.get("namespaced"))))
    return kinds
