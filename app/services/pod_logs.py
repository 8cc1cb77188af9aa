"""Logs of a node's pods: one pod, or all of them merged (each line names its pod)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Protocol

from app import errors
from app.auth.keyring import Keyring
from app.domain import labels
from app.ports import ClusterGateway, ClusterStore, LiveClusterSession, WorkflowStore
from app.services.clusters import workflow_credentials
from app.services.principals import Principal

MAX_TAIL_LINES = 10_000
_DONE = object()


class PodLogStore(WorkflowStore, ClusterStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class PodLogLine:
    pod: str
    container: str | None
    line: str


class PodLogService:
    def __init__(
        self, *, store: PodLogStore, gateway: ClusterGateway, keyring: Keyring, timeout_seconds: float
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._keyring = keyring
        self._timeout = timeout_seconds

    async def lines(
        self,
        principal: Principal,
        workflow_id: str,
        node_id: str,
        *,
        pod: str | None,
        container: str | None,
        tail_lines: int | None,
        follow: bool,
    ) -> AsyncGenerator[PodLogLine, None]:
        if tail_lines is not None and not 0 <= tail_lines <= MAX_TAIL_LINES:
            raise errors.Invalid.field("tailLines", f"must be between 0 and {MAX_TAIL_LINES}")
        workflow = await self._store.get_workflow(principal.scope, workflow_id)
        if workflow is None:
            raise errors.NotFound("workflow", workflow_id)
        node = next((n for n in workflow.canvas.nodes if n.id == node_id), None)
        if node is None:
            raise errors.Invalid.field("nodeId", "is not a node of this workflow")
        namespace = str(node.data.get("namespace") or workflow.namespace)
        credentials = await workflow_credentials(self._store, self._keyring, principal.scope, workflow)
        async with self._gateway.open(credentials, timeout_seconds=self._timeout) as session:
            selector = f"{labels.WORKFLOW_LABEL}={workflow.id},{labels.NODE_LABEL}={node.id}"
            pods = [
                str(p["metadata"]["name"])
                for p in await session.list("v1", "Pod", label_selector=selector, namespace=namespace)
            ]
            if pod is not None:
                if pod not in pods:
                    raise errors.Invalid.field(
                        "pod", f"is not a pod of this node; its pods: {', '.join(pods)}"
                    )
                pods = [pod]
            if not pods:
                return
            async with aclosing(
                self._merged(session, namespace, pods, container, tail_lines, follow)
            ) as merged:
                async for line in merged:
                    yield line

    async def _merged(
        self,
        session: LiveClusterSession,
        namespace: str,
        pods: list[str],
        container: str | None,
        tail_lines: int | None,
        follow: bool,
    ) -> AsyncGenerator[PodLogLine, None]:
        queue: asyncio.Queue[PodLogLine | object] = asyncio.Queue(maxsize=1000)

        async def pump(name: str) -> None:
            try:
                stream = session.pod_logs(
                    namespace, name, container=container, tail_lines=tail_lines, follow=follow
                )
                async for text in stream:
                    await queue.put(PodLogLine(name, container, text))
            except errors.NotFound:
                pass  # the pod went away: its stream simply ends
            finally:
                await queue.put(_DONE)

        tasks = [asyncio.create_task(pump(name), name=f"pod-logs-{name}") for name in pods]
        try:
            remaining = len(tasks)
            while remaining:
                item = await queue.get()
                if item is _DONE:
                    remaining -= 1
                    continue
                if isinstance(item, errors.TrellisError):
                    raise item
                assert isinstance(item, PodLogLine)
                yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
