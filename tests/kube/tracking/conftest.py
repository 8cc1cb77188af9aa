"""A recording LiveSink, fast watch settings and a tracker on the Kubernetes API test server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from app.domain.health import Health, HealthStatus
from app.kube.tracking import KubeLiveTracker, TrackingSettings
from app.kube.watching import WatchSettings
from app.ports import LiveSink, LiveTracker, NodeTarget
from tests.kubeapi import KubeApiServer

WITHIN = 5.0
CLUSTER = "c1"
# every backoff a few milliseconds: an outage is noticed and recovered from at once
FAST = WatchSettings(
    backoff_initial_seconds=0.01,
    backoff_max_seconds=0.05,
    inactivity_timeout_seconds=30,
    server_timeout_seconds=60,
    request_timeout_seconds=2,
    connect_timeout_seconds=2,
)
QUICK = TrackingSettings(resync_grace_seconds=5)


def ours(workflow: str, node: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": "trellis",
        "trellis.dev/workflow": workflow,
        "trellis.dev/node": node,
    }


def target(obj: dict[str, Any]) -> NodeTarget:
    meta = obj["metadata"]
    return NodeTarget(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))


class RecordingSink:
    """Every LiveSink call as a tuple: ``("health", cluster, workflow, node, Health)``,
    ``("unreachable", cluster, reason)``, ``("reachable", cluster)``, ``("resynced", cluster, workflows)``.
    ``fail`` makes node_health_changed raise (after recording)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail = False
        self._changed = asyncio.Condition()

    async def _record(self, call: tuple[Any, ...]) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def node_health_changed(
        self, cluster_id: str, workflow_id: str, node_id: str, health: Health
    ) -> None:
        await self._record(("health", cluster_id, workflow_id, node_id, health))
        if self.fail:
            raise RuntimeError("the sink broke")

    async def cluster_unreachable(self, cluster_id: str, reason: str) -> None:
        await self._record(("unreachable", cluster_id, reason))

    async def cluster_reachable(self, cluster_id: str) -> None:
        await self._record(("reachable", cluster_id))

    async def resynced(self, cluster_id: str, workflow_ids: Sequence[str]) -> None:
        await self._record(("resynced", cluster_id, tuple(workflow_ids)))

    async def wait_for(self, check: Callable[[], Any], within: float = WITHIN) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(check), within)

    def healths(self, workflow: str, node: str) -> list[Health]:
        return [c[4] for c in self.calls if c[0] == "health" and c[2:4] == (workflow, node)]

    def statuses(self, workflow: str, node: str) -> list[HealthStatus]:
        return [health.status for health in self.healths(workflow, node)]

    def latest(self, workflow: str, node: str) -> Health | None:
        found = self.healths(workflow, node)
        return found[-1] if found else None

    async def wait_health(
        self, workflow: str, node: str, status: HealthStatus, within: float = WITHIN
    ) -> Health:
        """Until the latest health told of the node has ``status``; that health."""

        def reached() -> bool:
            latest = self.latest(workflow, node)
            return latest is not None and latest.status is status

        try:
            await self.wait_for(reached, within)
        except TimeoutError:
            told = self.healths(workflow, node)
            raise AssertionError(f"{workflow}/{node} never became {status}: {told}") from None
        health = self.latest(workflow, node)
        assert health is not None
        return health

    def kinds(self) -> list[str]:
        return [c[0] for c in self.calls]


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
async def tracker(sink: RecordingSink) -> AsyncIterator[KubeLiveTracker]:
    made = KubeLiveTracker(sink, watch_settings=FAST, settings=QUICK)
    yield made
    await made.close()


def no_tracker_tasks() -> bool:
    return not [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith(("live ", f"watch {CLUSTER}", "watch c2"))
    ]


async def eventually(check: Callable[[], bool], within: float = WITHIN) -> None:
    """For state on the test server's side (its own thread): poll until ``check`` holds."""
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.01)


def pod_names(api: KubeApiServer, namespace: str = "default") -> list[str]:
    return sorted(pod["metadata"]["name"] for pod in api.list("Pod", namespace))


def _protocols(sink: RecordingSink, tracker: KubeLiveTracker) -> tuple[LiveSink, LiveTracker]:
    """mypy checks that the recording sink and the tracker satisfy the ports."""
    return sink, tracker
