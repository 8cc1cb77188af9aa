"""URL routing and the HTTP verbs of the Kubernetes REST API, as a Starlette app."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp
from starlette.websockets import WebSocket

from . import errors
from .discovery import version_info
from .errors import ApiError
from .exec import serve_exec
from .gate import USER_KEY, Gate
from .logs import serve_log
from .params import flag, go_bool
from .patches import merge_patch
from .resources import ResourceType
from .state import ServerState
from .watch import serve_watch

NAMESPACE_SUBRESOURCES = {"status", "finalize"}
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    rt: ResourceType
    namespace: str | None  # None: cluster scope or all namespaces
    name: str | None
    subresource: str | None


def _resolve(state: ServerState, group: str, version: str, parts: list[str]) -> Target:
    """``parts`` follow the group/version prefix, e.g. ``["namespaces", "ns", "pods", "web", "log"]``."""
    registry = state.registry
    if not parts:
        raise errors.path_not_found()
    if parts[0] == "namespaces" and len(parts) >= 3 and parts[2] not in NAMESPACE_SUBRESOURCES:
        namespace = parts[1]
        rt = registry.by_path(group, version, parts[2])
        if not rt.namespaced:
            raise errors.path_not_found()
        rest = parts[3:]
    else:
        namespace = None
        rt = registry.by_path(group, version, parts[0])
        rest = parts[1:]
    if len(rest) > 2:
        raise errors.path_not_found()
    name = rest[0] if rest else None
    sub = rest[1] if len(rest) > 1 else None
    if sub is not None and not rt.has_subresource(sub):
        raise errors.path_not_found()
    if rt.namespaced and name is not None and namespace is None:
        raise errors.path_not_found()
    return Target(rt, namespace, name, sub)


def _json(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


def _error(err: ApiError) -> Response:
    return JSONResponse(err.status(), status_code=err.code)


def _dry_run(query: dict[str, str]) -> bool:
    value = query.get("dryRun")
    if value is None or value == "":
        return False
    if value != "All":
        raise errors.invalid_object(
            "CreateOptions", "meta.k8s.io", "", [errors.not_supported("dryRun", value, ("All",))]
        )
    return True


def _default_manager(request: Request) -> str:
    agent = request.headers.get("user-agent", "")
    return agent.split("/", 1)[0][:128] or "unknown"


class RestApi:
    def __init__(self, state: ServerState) -> None:
        self.state = state

    async def handle(self, request: Request) -> Response:
        try:
            return await self._handle(request)
        except ApiError as err:
            return _error(err)
        except Exception as exc:  # a bug in the test server: answer as kube-apiserver would, and say why
            logger.exception("kubeapi test server failed on %s %s", request.method, request.url.path)
            return _error(errors.internal(f"{type(exc).__name__}: {exc}"))

    def _authorize(self, request: Request, verb: str, target: Target) -> None:
        namespace = target.namespace
        for rule in self.state.forbidden:
            resource = target.rt.plural + (f"/{target.subresource}" if target.subresource else "")
            group_resource = target.rt.group_resource
            if rule.matches(verb, resource, group_resource, namespace):
                user = request.scope.get(USER_KEY, "system:anonymous")
                raise errors.forbidden_request(user, verb, target.rt, namespace, target.name)

    async def _handle(self, request: Request) -> Response:
        state = self.state
        path = request.url.path.rstrip("/") or "/"
        query = dict(request.query_params)
        parts = [p for p in path.split("/") if p]
        if path in {"/healthz", "/livez", "/readyz"}:
            return PlainTextResponse("ok")
        if path == "/version":
            return _json(version_info(state.git_version))
        if path == "/api":
            return _json(state.discovery.core_versions(state.address))
        if path == "/apis":
            return _json(state.discovery.group_list())
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 2:
            if len(parts) == 2:
                return _json(state.discovery.group(parts[1]))
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise errors.path_not_found()
        if not rest:
            if request.method != "GET":
                raise errors.method_not_allowed()
            return _json(state.discovery.resource_list(group, version))
        target = _resolve(state, group, version, rest)
        if target.subresource is None:
            if target.name is None:
                return await self._collection(request, target, query)
            return await self._item(request, target, query)
        return await self._subresource(request, target, query)

    async def _body(self, request: Request) -> Any:
        raw = await request.body()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise errors.bad_request(f"the object provided is unrecognized: {exc}") from exc

    async def _collection(self, request: Request, target: Target, query: dict[str, str]) -> Response:
        api, rt = self.state.api, target.rt
        if request.method == "GET":
            watching = flag(query, "watch")
            self._authorize(request, "watch" if watching else "list", target)
            if watching:
                return serve_watch(
                    self.state.store, rt, target.namespace, query, lambda: self.state.bookmark_interval
                )
            limit = int(query["limit"]) if query.get("limit") else None
            return _json(
                api.list(
                    rt,
                    target.namespace,
                    label_selector=query.get("labelSelector"),
                    field_selector=query.get("fieldSelector"),
                    limit=limit,
                    continue_token=query.get("continue"),
                )
            )
        if request.method == "POST":
            self._authorize(request, "create", target)
            if rt.namespaced and target.namespace is None:
                raise errors.method_not_allowed()
            body = await self._body(request)
            created = api.create(
                rt,
                target.namespace,
                body,
                manager=query.get("fieldManager") or _default_manager(request),
                dry_run=_dry_run(query),
            )
            return _json(created, 201)
        if request.method == "DELETE":
            self._authorize(request, "deletecollection", target)
            options = await self._body(request) or {}
            return _json(
                api.delete_collection(
                    rt,
                    target.namespace,
                    label_selector=query.get("labelSelector"),
                    field_selector=query.get("fieldSelector"),
                    propagation=query.get("propagationPolicy") or options.get("propagationPolicy"),
                    dry_run=_dry_run(query),
                )
            )
        raise errors.method_not_allowed()

    async def _item(self, request: Request, target: Target, query: dict[str, str]) -> Response:
        api, rt = self.state.api, target.rt
        assert target.name is not None
        if request.method == "GET":
            self._authorize(request, "get", target)
            return _json(api.get(rt, target.namespace, target.name))
        if request.method == "PUT":
            self._authorize(request, "update", target)
            body = await self._body(request)
            return _json(
                api.update(
                    rt,
                    target.namespace,
                    target.name,
                    body,
                    manager=query.get("fieldManager") or _default_manager(request),
                    dry_run=_dry_run(query),
                )
            )
        if request.method == "PATCH":
            self._authorize(request, "patch", target)
            return await self._patch(request, target, query, "")
        if request.method == "DELETE":
            self._authorize(request, "delete", target)
            options = await self._body(request) or {}
            propagation = query.get("propagationPolicy") or options.get("propagationPolicy")
            orphan = query.get("orphanDependents") or options.get("orphanDependents")
            if propagation is None and (orphan is True or (isinstance(orphan, str) and go_bool(orphan))):
                propagation = "Orphan"
            grace = query.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
            dry_run = _dry_run(query) or options.get("dryRun") == ["All"]
            result = api.delete(
                rt,
                target.namespace,
                target.name,
                propagation=propagation,
                preconditions=options.get("preconditions"),
                grace_period=int(grace) if grace is not None else None,
                dry_run=dry_run,
            )
            accepted = result.get("kind") == rt.kind and (result.get("metadata") or {}).get(
                "deletionTimestamp"
            )
            return _json(result, 202 if accepted and rt.kind != "Pod" and rt.kind != "Namespace" else 200)
        raise errors.method_not_allowed()

    async def _patch(self, request: Request, target: Target, query: dict[str, str], sub: str) -> Response:
        assert target.name is not None
        force = query.get("force")
        result, code = self.state.api.patch(
            target.rt,
            target.namespace,
            target.name,
            await request.body(),
            request.headers.get("content-type", ""),
            manager=query.get("fieldManager"),
            force=go_bool(force, "force"),
            dry_run=_dry_run(query),
            subresource=sub,
            default_manager=_default_manager(request),
        )
        return _json(result, code)

    async def _subresource(self, request: Request, target: Target, query: dict[str, str]) -> Response:
        api, rt, sub = self.state.api, target.rt, target.subresource
        assert target.name is not None and sub is not None
        verb = {"GET": "get", "PUT": "update", "PATCH": "patch", "POST": "create"}.get(request.method, "")
        self._authorize(request, verb, target)
        if sub == "status":
            if request.method == "GET":
                return _json(api.get(rt, target.namespace, target.name))
            if request.method == "PUT":
                body = await self._body(request)
                return _json(
                    api.update(
                        rt,
                        target.namespace,
                        target.name,
                        body,
                        manager=query.get("fieldManager") or _default_manager(request),
                        subresource="status",
                        dry_run=_dry_run(query),
                    )
                )
            if request.method == "PATCH":
                return await self._patch(request, target, query, "status")
            raise errors.method_not_allowed()
        if sub == "scale":
            if request.method == "GET":
                return _json(api.scale(rt, target.namespace, target.name))
            manager = query.get("fieldManager") or _default_manager(request)
            if request.method == "PUT":
                body = await self._body(request) or {}
            elif request.method == "PATCH":
                body = merge_patch(
                    api.scale(rt, target.namespace, target.name), await self._body(request) or {}
                )
            else:
                raise errors.method_not_allowed()
            return _json(
                api.update_scale(
                    rt, target.namespace, target.name, body, manager=manager, dry_run=_dry_run(query)
                )
            )
        if sub == "log" and request.method == "GET":
            return await serve_log(api, self.state.logs, target.namespace or "", target.name, query)
        if sub in {"exec", "attach", "portforward"}:
            raise errors.bad_request("Upgrade request required")
        raise errors.method_not_allowed()

    async def exec(self, websocket: WebSocket) -> None:
        namespace = websocket.path_params["namespace"]
        name = websocket.path_params["name"]
        await serve_exec(websocket, self.state.api, self.state.execs, namespace, name)


def build_app(state: ServerState) -> ASGIApp:
    rest = RestApi(state)
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = Starlette(
        routes=[
            WebSocketRoute("/api/v1/namespaces/{namespace}/pods/{name}/exec", rest.exec),
            Route("/{path:path}", rest.handle, methods=methods),
        ]
    )
    return Gate(app, state)
