"""Live status: what the cluster trackers report becomes stored node health and events for subscribers.

After a run, and for every deployed workflow at start, the workflow's objects are tracked — by the one
server process that holds the cluster's lease (``watch:<clusterId>``, renewed while alive, taken over
when it expires). Every process serves subscribers through the event bus, so all replicas see changes.

During a run whose workloads depend on each other, the process executing it also tracks what the run
applied so far, lease or not (``track_run``), and the run waits for a node's health on the event bus
(``wait_for_health``): the :class:`~app.ports.HealthWaiter` port. After the run, ``follow`` goes back
to the lease's rule.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from app import errors
from app.auth.keyring import Keyring
from app.domain.clusters import ClusterCredentials
from app.domain.events import Event, EventType, workflow_topic
from app.domain.health import Health, HealthStatus
from app.domain.live import NodeHealth
from app.domain.runs import NodeRunStatus, ObjectAction, Run
from app.domain.workspaces import Scope
from app.ports import Clock, ClusterStore, EventBus, LiveStateStore, LiveTracker, NodeTarget, RunStore
from app.services.clusters import unseal

log = logging.getLogger(__name__)


class LiveStatusStore(LiveStateStore, RunStore, ClusterStore, Protocol):
    pass


def targets_of(run: Run) -> dict[str, NodeTarget]:
    """The object each node of a run put in the cluster."""
    targets: dict[str, NodeTarget] = {}
    for state in run.node_states:
        if state.status is not NodeRunStatus.APPLIED:
            continue
        for obj in state.objects:
            if obj.action is not ObjectAction.PRUNED:
                targets[state.node_id] = NodeTarget(obj.api_version, obj.kind, obj.name, obj.namespace)
    return targets


@dataclass(frozen=True, slots=True)
class _RunTracking:
    """What a run executing in this process has had tracked so far, for its dependencies."""

    run_id: str
    cluster_id: str
    targets: dict[str, NodeTarget]


class LiveStatusService:
    """Implements the tracker's ``LiveSink`` and the ``HealthWaiter`` port, and decides what this process
    tracks."""

    def __init__(
        self,
        *,
        store: LiveStatusStore,
        bus: EventBus,
        keyring: Keyring,
        clock: Clock,
        owner: str,
        lease_ttl: timedelta,
    ) -> None:
        self._store = store
        self._bus = bus
        self._keyring = keyring
        self._clock = clock
        self._owner = owner
        self._lease_ttl = lease_ttl
        self._tracker: LiveTracker | None = None
        self._by_cluster: dict[str, dict[str, Run]] = {}  # cluster id → workflow id → latest run
        self._owned: set[str] = set()
        self._running: dict[str, _RunTracking] = {}  # workflow id → its run executing here, tracked
        self._lock = asyncio.Lock()  # one change of what is tracked at a time

    def attach(self, tracker: LiveTracker) -> None:
        self._tracker = tracker

    # --- deciding what to track --------------------------------------------------------------------

    async def follow(self, run: Run) -> None:
        """After a run: track what it deployed (or stop tracking a workflow that has nothing left). What
        the run had tracked for its dependencies is let go when another process holds the lease."""
        async with self._lock:
            during = self._running.pop(run.workflow_id, None)
            await self._follow(run)
            if during is not None and self._tracker and run.cluster_id not in self._owned:
                await self._tracker.untrack(run.workflow_id)

    async def _follow(self, run: Run) -> None:
        workflows = self._by_cluster.setdefault(run.cluster_id, {})
        targets = targets_of(run)
        gone = [s.node_id for s in run.node_states if s.node_id not in targets]
        if gone:
            await self._store.delete_node_healths(run.workflow_id, gone)
        if not targets:
            workflows.pop(run.workflow_id, None)
            if self._tracker:
                await self._tracker.untrack(run.workflow_id)
            return
        workflows[run.workflow_id] = run
        await self._track_cluster(run.cluster_id)

    async def start(self) -> None:
        """At server start: follow the latest run of every workflow that deployed something."""
        async with self._lock:
            for run in await self._store.latest_runs():
                if run.status.finished and targets_of(run):
                    self._by_cluster.setdefault(run.cluster_id, {})[run.workflow_id] = run
            for cluster_id in list(self._by_cluster):
                await self._track_cluster(cluster_id)

    async def renew_leases(self) -> None:
        """Keep the leases this process holds; take over those whose holder died; let go of lost ones.
        Runs that ended in other processes since the last renewal are learnt from the store first, so the
        lease holder follows what another replica deployed (within one renewal interval)."""
        async with self._lock:
            await self._learn_runs()
            for cluster_id in list(self._by_cluster):
                await self._track_cluster(cluster_id)

    async def _learn_runs(self) -> None:
        """Under the lock: bring ``_by_cluster`` up to the latest finished run of every workflow."""
        newest = {run.workflow_id: run for run in await self._store.latest_runs()}
        latest = {w: run for w, run in newest.items() if run.status.finished}  # one executing: wait for it
        known = {w: (c, r) for c, runs in self._by_cluster.items() for w, r in runs.items()}
        for workflow_id, (cluster_id, run) in known.items():
            newer = latest.get(workflow_id)
            if workflow_id not in newest and workflow_id not in self._running:  # the workflow is gone
                self._by_cluster[cluster_id].pop(workflow_id, None)
                if self._tracker:
                    await self._tracker.untrack(workflow_id)
            elif newer is not None and newer.id != run.id and workflow_id not in self._running:
                self._by_cluster[cluster_id].pop(workflow_id, None)
                if self._tracker and (newer.cluster_id != cluster_id or not targets_of(newer)):
                    await self._tracker.untrack(workflow_id)  # nothing left here to follow
        for workflow_id, run in latest.items():
            if workflow_id in self._running or not targets_of(run):
                continue
            current = self._by_cluster.get(run.cluster_id, {}).get(workflow_id)
            if current is None or current.id != run.id:
                self._by_cluster.setdefault(run.cluster_id, {})[workflow_id] = run

    async def _track_cluster(self, cluster_id: str) -> None:
        """Under the lock: track the workflows of a cluster when this process holds its lease (those
        with a run executing here keep what the run tracks), let them go when it lost it."""
        if self._tracker is None:
            return
        lease = await self._store.acquire_lease(
            f"watch:{cluster_id}", self._owner, now=self._clock.now(), ttl=self._lease_ttl
        )
        if lease is None:
            if cluster_id in self._owned:
                self._owned.discard(cluster_id)
                if any(t.cluster_id == cluster_id for t in self._running.values()):
                    for workflow_id in list(self._by_cluster.get(cluster_id, {})):
                        if workflow_id not in self._running:
                            await self._tracker.untrack(workflow_id)
                else:
                    await self._tracker.release_cluster(cluster_id)
            return
        self._owned.add(cluster_id)
        for workflow_id, run in list(self._by_cluster.get(cluster_id, {}).items()):
            if workflow_id in self._running:
                continue
            cluster = await self._store.get_cluster(Scope.of([run.workspace_id]), cluster_id)
            if cluster is None:
                continue
            credentials = unseal(self._keyring, cluster.credentials_ciphertext)
            await self._tracker.track(cluster_id, credentials, workflow_id, targets_of(run))

    # --- HealthWaiter: a run waits for its dependencies ---------------------------------------------

    async def track_run(self, run: Run, credentials: ClusterCredentials) -> None:
        """Track what ``run`` applied so far, in this process, whoever holds the cluster's lease.

        The run's first call starts the workflow's tracking afresh and every node tracked anew forgets
        its stored health first, so what the tracker tells from now on (it tells a node newly tracked
        as soon as it knows its object) is the only health a wait sees — never an earlier run's.
        """
        if self._tracker is None:
            raise errors.Unavailable(
                "live status is not running in this server, so health cannot be followed"
            )
        targets = targets_of(run)
        async with self._lock:
            before = self._running.get(run.workflow_id)
            if before is None or before.run_id != run.id:
                await self._tracker.untrack(run.workflow_id)  # what it tracked before is told again
                known: dict[str, NodeTarget] = {}
            else:
                known = before.targets
            fresh = [node_id for node_id in targets if node_id not in known]
            if fresh:
                await self._store.delete_node_healths(run.workflow_id, fresh)
            self._running[run.workflow_id] = _RunTracking(run.id, run.cluster_id, targets)
            await self._tracker.track(run.cluster_id, credentials, run.workflow_id, targets)

    async def wait_for_health(self, workflow_id: str, node_id: str, done: Callable[[Health], bool]) -> Health:
        """Wait until the node's stored health satisfies ``done``: read it now, then again at every bus
        event of the workflow about that node (or a resync). The caller times out or cancels."""
        async with self._bus.subscribe(workflow_topic(workflow_id)) as subscription:  # first: miss nothing
            health = await self._health_of(workflow_id, node_id)
            if health is not None and done(health):
                return health
            async for event in subscription:
                if event.type is EventType.NODE_UPDATE and event.payload.get("nodeId") != node_id:
                    continue
                if event.type not in (EventType.NODE_UPDATE, EventType.WORKFLOW_SYNC):
                    continue
                health = await self._health_of(workflow_id, node_id)
                if health is not None and done(health):
                    return health
        raise errors.Unavailable(f"the event bus closed while waiting for the health of node {node_id}")

    async def _health_of(self, workflow_id: str, node_id: str) -> Health | None:
        for entry in await self._store.node_healths(workflow_id):
            if entry.node_id == node_id:
                return entry.health
        return None

    async def close(self) -> None:
        for cluster_id in list(self._owned):
            await self._store.release_lease(f"watch:{cluster_id}", self._owner)
        self._owned.clear()

    # --- LiveSink ----------------------------------------------------------------------------------

    async def node_health_changed(
        self,
        cluster_id: str,  # noqa: ARG002 (the LiveSink signature)
        workflow_id: str,
        node_id: str,
        health: Health,
    ) -> None:
        await self._store.put_node_health(NodeHealth(workflow_id, node_id, health, self._clock.now()))
        await self._publish(
            EventType.NODE_UPDATE, workflow_id, {"nodeId": node_id, "health": health.status.value}
        )
        if health.status is HealthStatus.DEGRADED:
            await self._publish(EventType.ERROR, workflow_id, {"nodeId": node_id, "message": health.message})

    async def cluster_unreachable(self, cluster_id: str, reason: str) -> None:
        unknown = Health(HealthStatus.UNKNOWN, f"the cluster cannot be reached: {reason}")
        tracked = {
            workflow_id: targets_of(run) for workflow_id, run in self._by_cluster.get(cluster_id, {}).items()
        }
        tracked.update({w: t.targets for w, t in self._running.items() if t.cluster_id == cluster_id})
        for workflow_id, targets in tracked.items():
            for node_id in targets:
                await self._store.put_node_health(
                    NodeHealth(workflow_id, node_id, unknown, self._clock.now())
                )
            await self._publish(EventType.ERROR, workflow_id, {"message": unknown.message})
            await self._publish(EventType.WORKFLOW_SYNC, workflow_id, {"reason": "cluster-unreachable"})

    async def cluster_reachable(self, cluster_id: str) -> None:
        log.info("cluster %s answers again", cluster_id)

    async def resynced(self, cluster_id: str, workflow_ids: Sequence[str]) -> None:  # noqa: ARG002
        for workflow_id in workflow_ids:
            await self._publish(EventType.WORKFLOW_SYNC, workflow_id, {"reason": "relist"})

    async def _publish(self, kind: EventType, workflow_id: str, payload: dict[str, str]) -> None:
        try:
            await self._bus.publish(Event(kind, workflow_topic(workflow_id), self._clock.now(), payload))
        except Exception:  # subscribers resync from the store; a lost event must not stop the tracker
            log.exception("publishing %s for workflow %s failed", kind.value, workflow_id)


async def renew_forever(service: LiveStatusService, every_seconds: float) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await service.renew_leases()
        except Exception:
            log.exception("renewing watch leases failed; trying again in %s s", every_seconds)
