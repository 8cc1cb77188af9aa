"""KubeSession: the ``ClusterSession`` port over one kubernetes_asyncio ``ApiClient``.

Every request carries the session's timeout; every failure leaves as an ``app.kube.errors`` type.
Objects come back as plain dicts exactly as the API server sent them, except that list items get
the ``apiVersion`` and ``kind`` a real list leaves out (so every returned object says what it is).
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from app.kube.discovery import Discovery, Resource
from app.kube.endpoints import Endpoint, invalid
from app.kube.errors import KubeNotFound, KubeUnknownKind, Target, translating
from app.kube.exec import KubeExecStream, open_exec
from app.kube.logs import pod_log_lines
from app.ports import Manifest

APPLY_PATCH = "application/apply-patch+yaml"
JSON = "application/json"
LIST_PAGE_SIZE = 500
DEFAULT_NAMESPACE = "default"
_OBJECT: dict[int, str] = {200: "object", 201: "object", 202: "object"}


def _identity(manifest: Mapping[str, Any]) -> tuple[str, str, str, str | None]:
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    metadata = manifest.get("metadata")
    if not isinstance(api_version, str) or not api_version:
        raise invalid("apiVersion", "the manifest has no apiVersion")
    if not isinstance(kind, str) or not kind:
        raise invalid("kind", "the manifest has no kind")
    if not isinstance(metadata, Mapping) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
        raise invalid("metadata.name", f"the {kind} manifest has no metadata.name")
    namespace = metadata.get("namespace")
    return (
        api_version,
        kind,
        metadata["name"],
        namespace if isinstance(namespace, str) and namespace else None,
    )


class KubeSession:
    """One open connection to one cluster; made by ``KubeGateway.open``, which also closes it."""

    def __init__(
        self, api: Any, endpoint: Endpoint, *, timeout_seconds: float, list_page_size: int = LIST_PAGE_SIZE
    ) -> None:
        self._api = api
        self._page_size = list_page_size
        self._server = endpoint.server
        self._default_namespace = endpoint.namespace or DEFAULT_NAMESPACE
        self._timeout = timeout_seconds
        self._discovery = Discovery(self._discover)

    @property
    def server(self) -> str:
        return self._server

    async def server_version(self) -> str:
        info = await self._call("GET", "/version")
        version = info.get("gitVersion") if isinstance(info, dict) else None
        return str(version or "unknown")

    async def apply(
        self, manifest: Manifest, *, field_manager: str, dry_run: bool = False, force: bool = False
    ) -> Manifest:
        api_version, kind, name, namespace = _identity(manifest)
        if not field_manager:
            raise invalid("fieldManager", "server-side apply needs a field manager")
        resource = await self._resource(api_version, kind)
        if resource is None:
            raise KubeUnknownKind(
                f"the cluster at {self._server} serves no kind {kind!r} in {api_version!r} "
                "(is its CustomResourceDefinition installed?)",
            )
        body = manifest
        if resource.namespaced and namespace is None:
            body = copy.deepcopy(manifest)
            body["metadata"]["namespace"] = self._default_namespace
        namespace = self._namespace(resource, namespace)
        query = [("fieldManager", field_manager)]  # runs never force: conflicts are reported
        if force:  # syncWorkflow only: take back what another manager took from this one
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        result = await self._call(
            "PATCH",
            resource.item_path(name, namespace),
            query=query,
            body=body,
            content_type=APPLY_PATCH,
            target=Target(kind, name, namespace),
        )
        return dict(result)

    async def get(self, api_version: str, kind: str, name: str, namespace: str | None) -> Manifest | None:
        resource = await self._resource(api_version, kind)
        if resource is None:
            return None
        namespace = self._namespace(resource, namespace)
        try:
            result = await self._call(
                "GET", resource.item_path(name, namespace), target=Target(kind, name, namespace)
            )
        except KubeNotFound:
            return None
        return dict(result)

    async def delete(self, api_version: str, kind: str, name: str, namespace: str | None) -> bool:
        resource = await self._resource(api_version, kind)
        if resource is None:
            return False
        namespace = self._namespace(resource, namespace)
        options = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        try:
            await self._call(
                "DELETE",
                resource.item_path(name, namespace),
                body=options,
                target=Target(kind, name, namespace),
            )
        except KubeNotFound:
            return False
        return True

    async def list(
        self, api_version: str, kind: str, *, label_selector: str, namespace: str | None = None
    ) -> builtins.list[Manifest]:
        resource = await self._resource(api_version, kind)
        if resource is None:
            return []
        items: builtins.list[Manifest] = []
        continue_token: str | None = None
        while True:
            query = [("limit", str(self._page_size))]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if continue_token:
                query.append(("continue", continue_token))
            page = await self._call(
                "GET", resource.collection_path(namespace), query=query, target=Target(kind)
            )
            for item in page.get("items") or []:
                items.append({"apiVersion": api_version, "kind": kind, **item})
            continue_token = (page.get("metadata") or {}).get("continue")
            if not continue_token:
                return items

    def pod_logs(
        self,
        namespace: str,
        pod: str,
        *,
        container: str | None,
        tail_lines: int | None,
        follow: bool,
    ) -> AsyncGenerator[str, None]:
        """A container's log lines (see :mod:`app.kube.logs`); stop early inside ``contextlib.aclosing``."""
        return pod_log_lines(
            self._api,
            self._server,
            namespace=namespace,
            pod=pod,
            container=container,
            tail_lines=tail_lines,
            follow=follow,
            timeout_seconds=self._timeout,
        )

    def exec(
        self, namespace: str, pod: str, *, container: str, command: Sequence[str], tty: bool
    ) -> AbstractAsyncContextManager[KubeExecStream]:
        """Run ``command`` in a container over the exec WebSocket (see :mod:`app.kube.exec`)."""
        return open_exec(
            self._api,
            self._server,
            namespace=namespace,
            pod=pod,
            container=container,
            command=command,
            tty=tty,
            timeout_seconds=self._timeout,
        )

    # --- plumbing ---------------------------------------------------------------------------------

    def _namespace(self, resource: Resource, namespace: str | None) -> str | None:
        """The namespace a request about one object goes to: none for cluster-scoped kinds, the
        endpoint's default (the kubeconfig context's, else ``default``) when a namespaced one has none."""
        if not resource.namespaced:
            return None
        return namespace or self._default_namespace

    async def _resource(self, api_version: str, kind: str) -> Resource | None:
        return await self._discovery.resolve(api_version, kind)

    async def _discover(self, path: str) -> dict[str, Any] | None:
        try:
            document = await self._call("GET", path)
        except KubeNotFound:
            return None
        return document if isinstance(document, dict) else None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        query: builtins.list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = JSON,
        target: Target | None = None,
    ) -> Any:
        headers = {"Accept": JSON, "Content-Type": content_type}
        with translating(self._server, timeout=self._timeout, target=target):
            return await self._api.call_api(
                path,
                method,
                query_params=query or [],
                header_params=headers,
                body=body,
                response_types_map=_OBJECT,
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _preload_content=True,
                _request_timeout=self._timeout,
            )
