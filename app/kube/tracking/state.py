"""What one cluster looks like to the tracker: the latest objects the watches delivered, which node each
belongs to, and a node's health from them. Pure: no I/O, no tasks.

Mapping rules:

- A node's **own object** is its target, found by (kind, namespace, name) — not by labels.
- **Labelled objects** (Pods and ReplicaSets through their pod templates; also the Jobs of a CronJob,
  or anything else that carries them) belong to the node named by ``trellis.dev/workflow`` and
  ``trellis.dev/node`` (with ``app.kubernetes.io/managed-by=trellis``). A node's Pods are folded into
  its health; all its labelled objects can be the subject of its Events.
- **Events** (which carry no labels) belong to whatever their ``involvedObject`` (``regarding`` in
  events.k8s.io/v1) names by (kind, namespace, name): a node's own object or one of its labelled
  objects; an Event whose ``uid`` names an earlier object of the same name (deleted and made again) is
  left out. Only the reasons that :func:`~app.kube.status.pods_rollup.relevant_events` shows are kept.
  An Event that comes before its object waits: it is attached when the object arrives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from app.domain.health import Health, HealthStatus
from app.domain.labels import node_of, workflow_of
from app.kube.status import assess, combine
from app.kube.status.pods_rollup import RELEVANT_EVENTS
from app.kube.watching import WatchEventType
from app.kube.watching.kinds import CLUSTER_SCOPED_KINDS
from app.ports import NodeTarget

ObjectKey = tuple[str, str, str]  # kind, namespace ("" when cluster-scoped), name
EVENT = "Event"
POD = "Pod"


class NodeRef(NamedTuple):
    workflow_id: str
    node_id: str


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _key(kind: str, namespace: str | None, name: str) -> ObjectKey:
    return kind, "" if kind in CLUSTER_SCOPED_KINDS else (namespace or ""), name


def object_key(obj: Mapping[str, Any]) -> ObjectKey:
    meta = _mapping(obj.get("metadata"))
    return _key(str(obj.get("kind") or ""), meta.get("namespace"), str(meta.get("name") or ""))


def target_key(target: NodeTarget) -> ObjectKey:
    return _key(target.kind, target.namespace, target.name)


def _uid(obj: Mapping[str, Any]) -> str:
    return str(_mapping(obj.get("metadata")).get("uid") or "")


def describe(target: NodeTarget) -> str:
    """``Deployment shop/web``; ``Namespace shop`` for what has no namespace."""
    _, namespace, name = target_key(target)
    return f"{target.kind} {namespace}/{name}" if namespace else f"{target.kind} {name}"


def missing(target: NodeTarget) -> Health:
    _, namespace, name = target_key(target)
    facts = {"kind": target.kind, "namespace": namespace or None, "name": name}
    return Health(HealthStatus.MISSING, f"{describe(target)} is not in the cluster", facts)


class Subject(NamedTuple):
    """What an Event is about."""

    key: ObjectKey
    uid: str


def subject_of(event: Mapping[str, Any]) -> Subject | None:
    about = _mapping(event.get("involvedObject") or event.get("regarding"))
    kind, name = about.get("kind"), about.get("name")
    if not kind or not name:
        return None
    return Subject(_key(str(kind), about.get("namespace"), str(name)), str(about.get("uid") or ""))


class ClusterObjects:
    """The latest objects of one cluster with the indexes that map them to nodes, and the nodes
    (targets) of the workflows tracked there. Changes return the nodes they touch."""

    def __init__(self) -> None:
        self._objects: dict[ObjectKey, Mapping[str, Any]] = {}
        self._by_kind: dict[str, set[ObjectKey]] = {}
        self._owner: dict[ObjectKey, NodeRef] = {}  # labelled object → its node
        self._owned: dict[NodeRef, set[ObjectKey]] = {}
        self._subject: dict[ObjectKey, Subject] = {}  # Event → what it is about
        self._events: dict[ObjectKey, set[ObjectKey]] = {}  # subject → its Events
        self._targets: dict[NodeRef, NodeTarget] = {}
        self._targeted: dict[ObjectKey, set[NodeRef]] = {}
        self._workflows: dict[str, set[NodeRef]] = {}

    # --- nodes ------------------------------------------------------------------------------------

    @property
    def workflows(self) -> frozenset[str]:
        return frozenset(self._workflows)

    def nodes(self, workflow_id: str) -> list[NodeRef]:
        return sorted(self._workflows.get(workflow_id, ()))

    def targets(self, workflow_id: str) -> list[NodeTarget]:
        return [self._targets[ref] for ref in self.nodes(workflow_id)]

    def target(self, ref: NodeRef) -> NodeTarget | None:
        return self._targets.get(ref)

    def namespaces(self) -> frozenset[str]:
        """Every namespace a tracked node lives in."""
        return frozenset(namespace for (_, namespace, _) in self._targeted if namespace)

    def set_targets(self, workflow_id: str, nodes: Mapping[str, NodeTarget]) -> set[NodeRef]:
        """Replace the nodes of a workflow; the nodes it no longer has."""
        gone = self.drop(workflow_id)
        refs = {NodeRef(workflow_id, node_id) for node_id in nodes}
        for ref in refs:
            target = nodes[ref.node_id]
            self._targets[ref] = target
            self._targeted.setdefault(target_key(target), set()).add(ref)
        self._workflows[workflow_id] = refs
        return gone - refs

    def drop(self, workflow_id: str) -> set[NodeRef]:
        """Forget the nodes of a workflow (its objects stay while a watch delivers them)."""
        refs = self._workflows.pop(workflow_id, set())
        for ref in refs:
            key = target_key(self._targets.pop(ref))
            targeted = self._targeted[key]
            targeted.discard(ref)
            if not targeted:
                del self._targeted[key]
        return refs

    # --- objects ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._objects)

    def apply(self, change: WatchEventType, obj: Mapping[str, Any]) -> set[NodeRef]:
        if change is WatchEventType.DELETED:
            return self._forget(object_key(obj))
        return self.put(obj)

    def put(self, obj: Mapping[str, Any]) -> set[NodeRef]:
        key = object_key(obj)
        touched = self._forget(key)
        if key[0] == EVENT and obj.get("reason") not in RELEVANT_EVENTS:
            return touched
        self._objects[key] = obj
        self._by_kind.setdefault(key[0], set()).add(key)
        if key[0] == EVENT:
            subject = subject_of(obj)
            if subject is not None:
                self._subject[key] = subject
                self._events.setdefault(subject.key, set()).add(key)
        else:
            workflow, node = workflow_of(obj), node_of(obj)
            if workflow and node:
                ref = NodeRef(workflow, node)
                self._owner[key] = ref
                self._owned.setdefault(ref, set()).add(key)
        return touched | self._touching(key)

    def replace(self, kind: str, namespace: str | None, objects: Sequence[Mapping[str, Any]]) -> set[NodeRef]:
        """Everything known of ``kind`` in ``namespace`` (None: all namespaces) becomes ``objects``."""
        touched: set[NodeRef] = set()
        for key in self._keys(kind, namespace):
            touched |= self._forget(key)
        for obj in objects:
            touched |= self.put(obj)
        return touched

    def purge(self, kind: str, namespace: str | None, *, keep: Iterable[str | None] = ()) -> None:
        """Forget ``kind`` in ``namespace`` (None: all) when no watch delivers it any more, except in
        the namespaces another watch still covers (``keep``; None in it keeps everything)."""
        kept = set(keep)
        if None in kept:
            return
        for key in self._keys(kind, namespace):
            if key[1] not in kept:
                self._forget(key)

    def _keys(self, kind: str, namespace: str | None) -> list[ObjectKey]:
        return [key for key in self._by_kind.get(kind, ()) if namespace is None or key[1] == namespace]

    def _forget(self, key: ObjectKey) -> set[NodeRef]:
        if key not in self._objects:
            return set()
        touched = self._touching(key)
        del self._objects[key]
        kind = self._by_kind[key[0]]
        kind.discard(key)
        if not kind:
            del self._by_kind[key[0]]
        owner = self._owner.pop(key, None)
        if owner is not None:
            owned = self._owned[owner]
            owned.discard(key)
            if not owned:
                del self._owned[owner]
        subject = self._subject.pop(key, None)
        if subject is not None:
            events = self._events[subject.key]
            events.discard(key)
            if not events:
                del self._events[subject.key]
        return touched

    def _touching(self, key: ObjectKey) -> set[NodeRef]:
        """The tracked nodes whose health depends on the object at ``key``."""
        subject = self._subject.get(key)
        about = subject.key if subject is not None else key
        touched = set(self._targeted.get(about, ()))
        owner = self._owner.get(about)
        if owner is not None and owner in self._targets:
            touched.add(owner)
        return touched

    # --- health -----------------------------------------------------------------------------------

    def health(self, ref: NodeRef) -> Health:
        """``combine(assess(own object), its pods, its Events)``; MISSING without its own object."""
        target = self._targets[ref]
        key = target_key(target)
        own = self._objects.get(key)
        if own is None:
            return missing(target)
        labelled = sorted(self._owned.get(ref, set()) - {key})
        pods = [self._objects[child] for child in labelled if child[0] == POD]
        events = [event for subject in (key, *labelled) for event in self._events_about(subject)]
        return combine(assess(own), pods, events)

    def _events_about(self, key: ObjectKey) -> list[Mapping[str, Any]]:
        uid = _uid(self._objects[key])
        found = []
        for event_key in sorted(self._events.get(key, ())):
            about = self._subject[event_key]
            if uid and about.uid and about.uid != uid:
                continue  # about an earlier object of the same name
            found.append(self._objects[event_key])
        return found
