"""One cluster: its watch pool (whose sink this is), the objects it delivered, and the publisher that
turns them into node health for the :class:`~app.ports.LiveSink`.

The watch callbacks only update :class:`ClusterObjects` and queue work in the :class:`Outbox`: they
never wait for the sink, so a slow sink slows no watch. One named task per cluster, the publisher,
delivers the outbox in order, so the sink hears about a cluster's nodes one call at a time and in the
order things happened, each node computed from the latest objects when its turn comes.

Resync batches: a watch that starts (for a new kind or namespace), and every watch after the cluster
came back, first lists everything. Until all the watches a workflow holds have listed, its nodes are
not published (a Deployment known before its Pods would flash a wrong health); when the last one has
(or after ``resync_grace_seconds``), every node of those workflows is recomputed, the changes told,
then ``resynced`` once. While the cluster is down nothing is published (the service shows the nodes
UNKNOWN), except for a workflow tracked meanwhile, whose nodes are told UNKNOWN with the reason; what
was published is forgotten, so after the outage every node is told again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, Protocol

from app.domain.clusters import ClusterCredentials
from app.domain.health import Health, HealthStatus
from app.kube.tracking.outbox import BatchDone, ClusterDown, ClusterUp, Item, Outbox, Recompute
from app.kube.tracking.settings import TrackingSettings
from app.kube.tracking.state import ClusterObjects, NodeRef
from app.kube.tracking.watches import wanted_keys
from app.kube.watching import WatchEvent, WatchKey, WatchPool, WatchSettings, WatchSink
from app.kube.watching.kinds import watch_key
from app.ports import LiveSink, NodeTarget

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class PoolFactory(Protocol):
    """How a cluster's :class:`WatchPool` is made (``WatchPool`` itself, or a partial of it in tests)."""

    def __call__(
        self, credentials: ClusterCredentials, sink: WatchSink, /, *, settings: WatchSettings, cluster: str
    ) -> WatchPool: ...


class ClusterTracker:
    def __init__(
        self,
        cluster_id: str,
        credentials: ClusterCredentials,
        sink: LiveSink,
        *,
        pool_factory: PoolFactory,
        watch_settings: WatchSettings,
        settings: TrackingSettings,
        sleep: Sleep,
    ) -> None:
        self.id = cluster_id
        self.credentials = credentials
        self._sink = sink
        self._pool_factory = pool_factory
        self._watch_settings = watch_settings
        self._settings = settings
        self._sleep = sleep
        self._pool = pool_factory(credentials, self, settings=watch_settings, cluster=cluster_id)  # may raise
        self._objects = ClusterObjects()
        self._held: dict[str, frozenset[WatchKey]] = {}  # workflow → the watches it holds
        self._listed: set[WatchKey] = set()  # watches that have listed at least once
        self._pending: set[WatchKey] = set()  # watches the open resync batch waits for
        self._batch: set[str] = set()  # workflows whose nodes wait for the open batch
        self._down = False  # as the watches last said
        self._reported_down: str | None = None  # why the sink was last told the cluster is down
        self._published: dict[NodeRef, Health] = {}
        self._outbox = Outbox()
        self._grace: asyncio.Task[None] | None = None
        self._publisher = asyncio.get_running_loop().create_task(
            self._publish_forever(), name=f"live {cluster_id}: publisher"
        )
        self._publisher.add_done_callback(self._publisher_ended)

    # --- what the tracker asks --------------------------------------------------------------------

    @property
    def workflows(self) -> frozenset[str]:
        return self._objects.workflows

    @property
    def watches(self) -> frozenset[WatchKey]:
        return self._pool.keys

    async def track(self, workflow_id: str, nodes: Mapping[str, NodeTarget]) -> None:
        new = workflow_id not in self._objects.workflows
        for ref in self._objects.set_targets(workflow_id, nodes):
            self._published.pop(ref, None)
        await self._rewatch()
        # nothing to wait for: tell its nodes now; a workflow new here while the cluster is down is told
        # UNKNOWN (the sink heard of the outage before it knew this workflow was on the cluster)
        if workflow_id not in self._batch or (self._down and new):
            self._outbox.nodes(self._objects.nodes(workflow_id))

    async def untrack(self, workflow_id: str) -> None:
        for ref in self._objects.drop(workflow_id):
            self._published.pop(ref, None)
        self._batch.discard(workflow_id)
        self._held.pop(workflow_id, None)
        for key in await self._pool.release_holder(workflow_id):
            self._watch_stopped(key)
        if self._objects.workflows:
            await self._rewatch()  # fewer namespaces in use may bring the Events back per namespace
        if self._batch and not self._pending:
            self._close_batch()

    async def reconnect(self, credentials: ClusterCredentials) -> None:
        """New credentials (a rotated token, say): a new pool holding the same watches, all relisted."""
        pool = self._pool_factory(credentials, self, settings=self._watch_settings, cluster=self.id)
        old, self._pool = self._pool, pool
        self.credentials = credentials
        await old.close()
        for workflow_id, keys in sorted(self._held.items()):
            for key in sorted(keys):
                await pool.ensure(*key, holder=workflow_id)
        await _first_steps()
        self._start_batch(set(pool.keys), set(self._held))

    async def close(self) -> None:
        """Stop every watch and the publisher (what it had still to say is dropped). Idempotent."""
        await self._pool.close()  # first: no watch calls back any more
        self._cancel_grace()
        self._publisher.cancel()
        for task in (self._publisher, self._grace):
            if task is not None and task is not asyncio.current_task():
                await asyncio.gather(task, return_exceptions=True)

    # --- the watches held -------------------------------------------------------------------------

    async def _rewatch(self) -> None:
        """Hold exactly the watches the tracked workflows need: start the new ones first (so a switch
        of the Event watches leaves no gap), then release those no longer needed."""
        everywhere = len(self._objects.namespaces()) > self._settings.event_namespaces_max
        wanted = {
            workflow_id: wanted_keys(self._objects.targets(workflow_id), events_everywhere=everywhere)
            for workflow_id in sorted(self._objects.workflows)
        }
        started: set[WatchKey] = set()
        for workflow_id, keys in wanted.items():
            for key in sorted(keys - self._held.get(workflow_id, frozenset())):
                running = key in self._pool.keys
                await self._pool.ensure(*key, holder=workflow_id)
                if not running:
                    started.add(key)
        if started:
            await _first_steps()
        stopped: list[WatchKey] = []
        for workflow_id, held in sorted(self._held.items()):
            for key in sorted(held - wanted.get(workflow_id, frozenset())):
                if await self._pool.release(*key, holder=workflow_id):
                    stopped.append(key)
        self._held = {workflow_id: keys for workflow_id, keys in wanted.items() if keys}
        for key in stopped:
            self._watch_stopped(key)
        if started:
            self._listed -= started
            self._pending |= started
            self._arm_grace()  # the wait starts again for what was just added
        # a workflow that needs a watch still to list waits for it, whoever started it
        self._batch |= {workflow_id for workflow_id, keys in self._held.items() if keys & self._pending}

    def _watch_stopped(self, key: WatchKey) -> None:
        self._pending.discard(key)
        self._listed.discard(key)
        still = [other.namespace for other in self._pool.keys if other.kind == key.kind]
        self._objects.purge(key.kind, key.namespace, keep=still)

    # --- resync batches ---------------------------------------------------------------------------

    def _start_batch(self, pending: set[WatchKey], workflows: set[str]) -> None:
        self._pending = pending
        self._batch = workflows
        if pending:
            self._arm_grace()
        else:
            self._close_batch()

    def _arm_grace(self) -> None:
        self._cancel_grace()
        self._grace = asyncio.get_running_loop().create_task(
            self._grace_period(), name=f"live {self.id}: resync grace"
        )

    def _close_batch(self) -> None:
        workflows = frozenset(self._batch)
        self._batch.clear()
        self._pending.clear()
        self._cancel_grace()
        if workflows:
            self._outbox.put(BatchDone(workflows))

    async def _grace_period(self) -> None:
        try:
            await self._sleep(self._settings.resync_grace_seconds)
            if self._pending:
                log.warning(
                    "cluster %s: %s did not list within %s s; publishing what is known",
                    self.id,
                    ", ".join(key.describe() for key in sorted(self._pending)),
                    self._settings.resync_grace_seconds,
                )
            self._close_batch()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("cluster %s: the resync grace period failed", self.id)

    def _cancel_grace(self) -> None:
        if self._grace is not None and self._grace is not asyncio.current_task():
            self._grace.cancel()

    # --- WatchSink: what the pool says (quick, never waits for the LiveSink) ----------------------

    async def on_resync(self, kind: str, namespace: str | None, objects: Sequence[Mapping[str, Any]]) -> None:
        if self._down:  # a new pool (new credentials) lists without having seen the outage
            self._came_up()
        keys = {key for key in self._pool.keys if key.kind == kind and key.namespace == namespace}
        self._listed |= keys
        touched = self._objects.replace(kind, namespace, objects)
        awaited = keys & self._pending
        if awaited:
            self._pending -= awaited
            self._outbox.nodes(touched)  # those of workflows still waiting are skipped
            if not self._pending:
                self._close_batch()
            return
        # a watch that started again by itself: a batch of its own
        self._outbox.nodes(touched)
        workflows = {workflow_id for workflow_id, held in self._held.items() if held & keys}
        if workflows - self._batch:
            self._outbox.put(BatchDone(frozenset(workflows - self._batch)))

    async def on_event(self, event: WatchEvent) -> None:
        self._outbox.nodes(self._objects.apply(event.type, event.obj))

    async def on_cluster_down(self, reason: str) -> None:
        if self._down:
            return
        self._down = True
        self._batch.clear()
        self._pending.clear()
        self._cancel_grace()
        self._outbox.put(ClusterDown(reason))

    async def on_cluster_up(self) -> None:
        self._came_up()

    def _came_up(self) -> None:
        """Every watch lists again now: one batch for them all."""
        self._down = False
        self._outbox.put(ClusterUp())
        self._start_batch(set(self._pool.keys), set(self._held))

    # --- the publisher ----------------------------------------------------------------------------

    async def _publish_forever(self) -> None:
        while True:
            await self._outbox.wait()
            while (item := self._outbox.pop()) is not None:
                try:
                    await self._deliver(item)
                except Exception:
                    log.exception("cluster %s: publishing %s failed", self.id, type(item).__name__)

    def _publisher_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled():
            log.error("cluster %s: the publisher ended unexpectedly: %r", self.id, task.exception())

    async def _deliver(self, item: Item) -> None:
        if isinstance(item, Recompute):
            for ref in sorted(item.nodes):
                # while down only a workflow tracked since comes here: the sink cannot have marked it
                if self._reported_down is not None or ref.workflow_id not in self._batch:
                    await self._refresh(ref)
        elif isinstance(item, ClusterDown):
            self._reported_down = item.reason
            self._published.clear()  # the service shows them UNKNOWN: each is told again once up
            await self._tell(self._sink.cluster_unreachable(self.id, item.reason), "cluster_unreachable")
        elif isinstance(item, ClusterUp):
            self._reported_down = None
            await self._tell(self._sink.cluster_reachable(self.id), "cluster_reachable")
        elif self._reported_down is None:
            done = sorted(
                workflow_id
                for workflow_id in item.workflows
                if workflow_id in self._objects.workflows and workflow_id not in self._batch
            )
            for workflow_id in done:
                for ref in self._objects.nodes(workflow_id):
                    await self._refresh(ref)
            if done:
                await self._tell(self._sink.resynced(self.id, done), "resynced")

    async def _refresh(self, ref: NodeRef) -> None:
        target = self._objects.target(ref)
        if target is None:
            return
        health = self._health(ref, target)
        if self._published.get(ref) == health:
            return
        self._published[ref] = health
        told = await self._tell(
            self._sink.node_health_changed(self.id, ref.workflow_id, ref.node_id, health),
            f"node_health_changed of {ref.workflow_id}/{ref.node_id}",
        )
        if not told and self._published.get(ref) is health:
            del self._published[ref]  # told again at its next recomputation

    def _health(self, ref: NodeRef, target: NodeTarget) -> Health:
        if self._reported_down is not None:
            reason = self._reported_down
            return Health(
                HealthStatus.UNKNOWN, f"the cluster cannot be reached: {reason}", {"reason": reason}
            )
        if watch_key(target.api_version, target.kind, None) not in self._listed:
            return Health(
                HealthStatus.UNKNOWN,
                f"Trellis cannot see {target.kind} objects on this cluster yet: their watch has not "
                "listed them (see the server log)",
                {"kind": target.kind, "apiVersion": target.api_version},
            )
        return self._objects.health(ref)

    async def _tell(self, call: Coroutine[Any, Any, None], what: str) -> bool:
        try:
            await call
        except Exception:
            log.exception("cluster %s: the live sink failed on %s", self.id, what)
            return False
        return True


async def _first_steps() -> None:
    """Let the watch tasks just made take their first step. ``WatchPool`` hands each task a coroutine
    made before the task runs (``_guarded(name, watch.run())``): a watch released before its task
    started would leave that coroutine never awaited (a RuntimeWarning, an error under the tests)."""
    await asyncio.sleep(0)
