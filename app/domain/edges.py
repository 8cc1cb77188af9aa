"""Edge semantics: which kinds may connect, what a handle means, and the node fields edges write.

Edge-derived ("linked") values are recomputed on every check from the current edges only: first every
previously derived value is stripped, then each edge writes its values (see :func:`derive_linked_fields`).
A removed edge therefore removes what it wrote, renames propagate, and stale values sent by a client are
replaced. Selectors written here use the ``trellis.dev/node`` label; the renderer adds the
``trellis.dev/workflow`` label next to it, since node ids are only unique within a workflow.

An edge from one workload to another is a *dependency* (compose's ``depends_on``): the target starts
after the source meets the condition its sourceHandle names (:class:`DependencyCondition`). It writes no
field on either node; a run reads it from the edges (see :func:`dependencies_of` and
:mod:`app.domain.deploy_order`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from app.domain.workflows import Canvas, Edge, Node

NODE_LABEL = "trellis.dev/node"
"""The label every object (and pod template) Trellis renders carries, holding its node id."""

OUTPUT_HANDLE = "output"
"""The NetworkPolicy handle that selects a workload as the policy's own pods."""

ENV_HANDLE = "env"
"""The workload (target) handle that takes a ConfigMap or Secret as environment variables (``envFrom``)
instead of a volume."""

DEFAULT_INGRESS_PATH: Mapping[str, str] = {"id": "path-1", "path": "/", "pathType": "Prefix"}
"""The path an Ingress gets when it is connected without a handle and has none."""

WORKLOAD_KINDS: tuple[str, ...] = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
"""The kinds that run pods; an edge between two of them is a dependency."""

_WORKLOADS = WORKLOAD_KINDS
_SERVED = ("Deployment", "StatefulSet", "DaemonSet")
_SCALABLE = ("Deployment", "StatefulSet")
_CLAIMING = ("Deployment", "StatefulSet")


@dataclass(frozen=True, slots=True)
class EdgeRule:
    """One allowed connection ``source_kind → target_kind``.

    ``handle`` says what a sourceHandle means, ``target_handle`` what a targetHandle means (``None``:
    that handle means nothing for this connection).
    """

    source_kind: str
    target_kind: str
    description: str
    handle: str | None = None
    target_handle: str | None = None


def _rules(
    source: str,
    targets: Sequence[str],
    description: str,
    handle: str | None = None,
    target_handle: str | None = None,
) -> list[EdgeRule]:
    return [EdgeRule(source, target, description, handle, target_handle) for target in targets]


class DependencyCondition(StrEnum):
    """What a dependency (a workload → workload edge's sourceHandle) waits for before its target starts,
    judged from the source's live health."""

    HEALTHY = "healthy"
    """The source is HEALTHY (a Job: it completed; a failed Job fails the target at once). The default."""
    STARTED = "started"
    """The source reports any health but MISSING or UNKNOWN: its object exists and is being rolled out."""
    COMPLETED = "completed"
    """The source is a Job that completed; a failed Job fails the target at once. Only a Job's edges."""


DEFAULT_CONDITION = DependencyCondition.HEALTHY
"""The condition of a dependency edge without a sourceHandle."""

_DEPENDS_ON = (
    "Dependency (compose's depends_on): the target workload starts after the source one. A run applies "
    "the target only once the source meets the edge's condition, judged from its live health, and "
    "marks the target FAILED when the source failed or did not meet it within the run dependency "
    "timeout (TRELLIS_RUN_DEPENDENCY_TIMEOUT_SECONDS). Dependencies must not form a cycle; nothing is "
    "written to either node."
)
_CONDITIONS = (
    "The condition: 'healthy' (or none): the source is HEALTHY; 'started': the source reports any health "
    "but MISSING or UNKNOWN (it exists and is rolling out)"
)
_DEPENDS_ON_HANDLE = _CONDITIONS + "; 'completed' is only for a Job source."
_DEPENDS_ON_JOB_HANDLE = (
    _CONDITIONS + "; 'completed': the Job completed. For a Job 'healthy' also means completed, and a "
    "failed Job fails the target at once."
)


_ENV_OR_VOLUME = (
    f"{ENV_HANDLE!r}: the workload takes every key as an environment variable (envFrom); anything else "
    "(none, 'volume'): the workload mounts it as a volume."
)


EDGE_RULES: tuple[EdgeRule, ...] = (
    *_rules(
        "Service",
        _SERVED,
        "The Service sends traffic to the workload's pods: it gets targetApp, targetPort (the workload's "
        "port) and _linkedDeployment. A Service connects to one workload.",
    ),
    *_rules(
        "Ingress",
        ("Service",),
        "The Ingress path routes to the Service: the path gets serviceName, servicePort and _linkedService.",
        "The id of the Ingress path to route; none means the first path (created as / when there is none). "
        "A path routes to one Service.",
    ),
    *_rules(
        "HorizontalPodAutoscaler",
        _SCALABLE,
        "The autoscaler scales the workload: it gets scaleTargetKind, scaleTargetName and _linkedTarget. "
        "It scales one workload, and a workload has at most one autoscaler.",
    ),
    *_rules(
        "ConfigMap",
        _WORKLOADS,
        "The workload mounts the ConfigMap read-only (at its mountPath, else /etc/config) or, through its "
        f"{ENV_HANDLE!r} handle, takes its keys as environment variables (envFrom); either way it lists the "
        "ConfigMap in _linkedConfigMaps.",
        target_handle=_ENV_OR_VOLUME,
    ),
    *_rules(
        "Secret",
        _WORKLOADS,
        "The workload mounts the Secret read-only (at its mountPath, else /etc/secrets) or, through its "
        f"{ENV_HANDLE!r} handle, takes its keys as environment variables (envFrom); either way it lists the "
        "Secret in _linkedSecrets.",
        target_handle=_ENV_OR_VOLUME,
    ),
    *_rules(
        "PersistentVolumeClaim",
        _CLAIMING,
        "The workload mounts the claim at /data/<claim name> and lists it in _linkedPVCs.",
    ),
    *_rules(
        "NetworkPolicy",
        _WORKLOADS,
        "The policy applies to the workload's pods (output handle), or the workload becomes a peer of one "
        "of its rules (rule handle). The policy lists output-connected workloads in _linkedWorkloads.",
        "'output' (or none): the policy selects the workload's pods — podSelector is set when exactly one "
        "workload is connected so; a rule id: the workload is added to that rule's from (ingress rules) or "
        "to (egress rules).",
    ),
    *(
        rule
        for source in WORKLOAD_KINDS
        for rule in _rules(
            source,
            WORKLOAD_KINDS,
            _DEPENDS_ON,
            _DEPENDS_ON_JOB_HANDLE if source == "Job" else _DEPENDS_ON_HANDLE,
        )
    ),
)
"""Every allowed connection, by source kind."""

_BY_PAIR: Mapping[tuple[str, str], EdgeRule] = {(r.source_kind, r.target_kind): r for r in EDGE_RULES}

SINGLE_TARGET_SOURCES = frozenset({"Service", "HorizontalPodAutoscaler", "Ingress"})
"""Kinds with at most one edge per source handle (see :func:`effective_handle`): one workload per Service
and per autoscaler, one Service per Ingress path."""

SINGLE_SOURCE_KINDS = frozenset({"HorizontalPodAutoscaler"})
"""Kinds of which a target may have at most one connected."""


def edge_rule(source_kind: str, target_kind: str) -> EdgeRule | None:
    """The rule allowing ``source_kind → target_kind``, or ``None`` when they cannot connect."""
    return _BY_PAIR.get((source_kind, target_kind))


def allowed_targets(kind: str) -> tuple[str, ...]:
    """The kinds a node of ``kind`` may connect to, in table order (empty when it is never a source)."""
    return tuple(r.target_kind for r in EDGE_RULES if r.source_kind == kind)


def is_dependency(source_kind: str, target_kind: str) -> bool:
    """Whether an edge ``source_kind → target_kind`` is a dependency (workload → workload)."""
    return source_kind in WORKLOAD_KINDS and target_kind in WORKLOAD_KINDS


@dataclass(frozen=True, slots=True)
class Dependency:
    """One dependency edge: node ``dependent`` starts after node ``dependency`` meets ``condition``."""

    edge_id: str
    dependency: str
    dependent: str
    condition: DependencyCondition


def dependency_condition(edge: Edge) -> DependencyCondition:
    """The condition a dependency edge names (none: :data:`DEFAULT_CONDITION`). Expects a checked edge;
    a handle naming no condition also counts as the default (the one that waits longest)."""
    try:
        return DependencyCondition(edge.source_handle) if edge.source_handle else DEFAULT_CONDITION
    except ValueError:
        return DEFAULT_CONDITION


def dependencies_of(canvas: Canvas) -> tuple[Dependency, ...]:
    """The dependency edges of ``canvas`` (with canonical kinds), in edge order; other edges, and edges
    whose ends are missing, are left out."""
    kinds = {node.id: node.kind for node in canvas.nodes}
    return tuple(
        Dependency(edge.id, edge.source, edge.target, dependency_condition(edge))
        for edge in canvas.edges
        if edge.source != edge.target
        and is_dependency(kinds.get(edge.source, ""), kinds.get(edge.target, ""))
    )


def display_name(node: Node) -> str:
    """The object name a node renders to: its ``name``, else its id."""
    name = node.data.get("name")
    return name if isinstance(name, str) and name else node.id


def effective_handle(source: Node, edge: Edge) -> str | None:
    """What the edge's sourceHandle selects on ``source``, with the defaults filled in.

    Ingress: the path id (none → the first path's id, or the default path's). NetworkPolicy: ``output``
    or a rule id. Other kinds: ``None`` (their handles select nothing; a workload's names a dependency
    condition, see :func:`dependency_condition`, and two nodes depend on each other once at most).
    """
    handle = edge.source_handle or None
    if source.kind == "Ingress":
        if handle:
            return handle
        paths = _items(source.data, "paths")
        return str(paths[0].get("id")) if paths else DEFAULT_INGRESS_PATH["id"]
    if source.kind == "NetworkPolicy":
        return handle or OUTPUT_HANDLE
    return None


def handle_problem(source: Node, handle: str | None) -> str | None:
    """Why ``handle`` (a sourceHandle) names nothing on ``source``, or ``None`` when it is fine."""
    if not handle:
        return None
    if source.kind == "Ingress":
        ids = [str(p.get("id")) for p in _items(source.data, "paths")]
        if handle in (ids or [DEFAULT_INGRESS_PATH["id"]]):
            return None
        if not ids:
            return (
                f"Ingress {display_name(source)!r} has no paths yet: connect without a handle to create "
                f"{DEFAULT_INGRESS_PATH['id']!r}, or add a path first"
            )
        return (
            f"Ingress {display_name(source)!r} has no path with id {handle!r} (its paths: {', '.join(ids)})"
        )
    if source.kind == "NetworkPolicy":
        ids = [str(r.get("id")) for key in ("ingressRules", "egressRules") for r in _items(source.data, key)]
        if handle == OUTPUT_HANDLE or handle in ids:
            return None
        listed = ", ".join([OUTPUT_HANDLE, *ids])
        return (
            f"NetworkPolicy {display_name(source)!r} has no handle {handle!r}: use {OUTPUT_HANDLE!r} or a "
            f"rule id (its handles: {listed})"
        )
    if source.kind in WORKLOAD_KINDS:
        return _condition_problem(source, handle)
    return None


def _condition_problem(source: Node, handle: str) -> str | None:
    conditions = [c.value for c in DependencyCondition]
    if handle not in conditions:
        return (
            f"{source.kind} {display_name(source)!r} has no handle {handle!r}: an edge from a workload to "
            f"another is a dependency whose handle is its condition, one of {', '.join(conditions)} "
            "(completed only for a Job)"
        )
    if handle == DependencyCondition.COMPLETED and source.kind != "Job":
        return (
            f"'completed' needs a Job as the dependency, but {display_name(source)!r} is a {source.kind}, "
            "which never completes: use 'healthy' or 'started'"
        )
    return None


def _items(data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# --- derivation ---------------------------------------------------------------------------------------------

_MOUNTS = {
    "ConfigMap": ("configMap", "_linkedConfigMaps", "/etc/config"),
    "Secret": ("secret", "_linkedSecrets", "/etc/secrets"),
    "PersistentVolumeClaim": ("persistentVolumeClaim", "_linkedPVCs", None),
}
_ENV_SOURCES = frozenset({"ConfigMap", "Secret"})
_WORKLOAD_LINKS = ("_linkedConfigMaps", "_linkedSecrets", "_linkedPVCs")


@dataclass(slots=True)
class _Work:
    """Node data being derived, and the edge-derived ``volumeMounts`` and ``envFrom`` entries each workload
    had before (by workload, then by source node)."""

    data: dict[str, dict[str, Any]]
    old_mounts: dict[str, dict[str, dict[str, Any]]]
    old_env: dict[str, dict[str, dict[str, Any]]]


def derive_linked_fields(nodes: Sequence[Node], edges: Sequence[Edge]) -> tuple[Node, ...]:
    """``nodes`` with every edge-derived value recomputed from ``edges`` (the inputs are not changed).

    Expects sanitised nodes with canonical kinds and checked edges; edges that do not fit the table or
    whose ends are missing are skipped. Idempotent: deriving again from the result changes nothing.
    A workload keeps the mountPath, subPath (and, for claims, readOnly) of an edge-derived mount it had
    for the same source node, so a user's changes to those survive; a mount without a nodeId of the same
    volume is taken over by the edge the same way. ``envFrom`` entries (ConfigMap and Secret edges into a
    workload's ``env`` handle) keep their prefix likewise. Everything else is rewritten. A default Ingress
    path created for an edge stays when the edge goes (it is then the user's). Dependency edges (workload
    → workload) write nothing.
    """
    work = _Work({}, {}, {})
    for node in nodes:
        data = copy.deepcopy(node.data)
        work.old_mounts[node.id] = _strip(node.kind, data)
        work.old_env[node.id] = _strip_linked(data, "envFrom") if node.kind in _WORKLOADS else {}
        work.data[node.id] = data
    by_id = {node.id: node for node in nodes}
    for edge in edges:
        source, target = by_id.get(edge.source), by_id.get(edge.target)
        if source is None or target is None or edge_rule(source.kind, target.kind) is None:
            continue
        _write(work, edge, source, target)
    for node in nodes:
        if node.kind == "NetworkPolicy":
            _select_linked_workloads(work.data[node.id])
    return tuple(replace(node, data=work.data[node.id]) for node in nodes)


def _strip(kind: str, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Remove edge-derived values from ``data``; return the edge-derived mounts by source node id."""
    if kind == "Service":
        if data.pop("_linkedDeployment", None) is not None:
            data.pop("targetPort", None)
        data.pop("targetApp", None)
    elif kind == "Ingress":
        for path in _items(data, "paths"):
            if path.pop("_linkedService", None) is not None:
                path.pop("serviceName", None)
                path.pop("servicePort", None)
    elif kind == "HorizontalPodAutoscaler":
        if data.pop("_linkedTarget", None) is not None:
            data.pop("scaleTargetKind", None)
            data.pop("scaleTargetName", None)
    elif kind == "NetworkPolicy":
        if data.pop("_linkedWorkloads", None) is not None:
            data.pop("podSelector", None)
        for key, peers in (("ingressRules", "from"), ("egressRules", "to")):
            for rule in _items(data, key):
                _drop_items(rule, peers, "_linkedWorkload")
    elif kind in _WORKLOADS:
        return _strip_mounts(data)
    return {}


def _strip_mounts(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    for key in _WORKLOAD_LINKS:
        data.pop(key, None)
    return _strip_linked(data, "volumeMounts")


def _strip_linked(data: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    """Remove the edge-derived items (those with a nodeId) of the list ``data[key]``; return them by
    source node id."""
    items = data.get(key)
    if not isinstance(items, list):
        return {}
    derived = {str(m["nodeId"]): m for m in items if isinstance(m, dict) and m.get("nodeId")}
    _drop_items(data, key, "nodeId")
    return derived


def _drop_items(data: dict[str, Any], key: str, marker: str) -> None:
    """Remove the items of the list ``data[key]`` that carry ``marker``; remove the key if none is left."""
    items = data.get(key)
    if not isinstance(items, list):
        return
    kept = [item for item in items if not (isinstance(item, dict) and item.get(marker))]
    if len(kept) == len(items):
        return
    if kept:
        data[key] = kept
    else:
        del data[key]


def _write(work: _Work, edge: Edge, source: Node, target: Node) -> None:
    own, other = work.data[source.id], work.data[target.id]
    if source.kind == "Service":
        own["targetApp"] = display_name(target)
        port = other.get("port")
        if isinstance(port, int):
            own["targetPort"] = port
        else:
            own.pop("targetPort", None)
        own["_linkedDeployment"] = target.id
    elif source.kind == "Ingress":
        _route(own, effective_handle(replace(source, data=own), edge), target, other)
    elif source.kind == "HorizontalPodAutoscaler":
        own["scaleTargetKind"] = target.kind
        own["scaleTargetName"] = display_name(target)
        own["_linkedTarget"] = target.id
    elif source.kind in _ENV_SOURCES and edge.target_handle == ENV_HANDLE:
        _env_from(other, work.old_env[target.id].get(source.id), source)
    elif source.kind in _MOUNTS:
        _mount(other, work.old_mounts[target.id].get(source.id), source, own)
    elif source.kind == "NetworkPolicy":
        _police(own, edge.source_handle or OUTPUT_HANDLE, source, target)


def _route(
    ingress: dict[str, Any], path_id: str | None, service: Node, service_data: Mapping[str, Any]
) -> None:
    paths = ingress.get("paths")
    if not isinstance(paths, list) or not paths:
        paths = ingress["paths"] = [dict(DEFAULT_INGRESS_PATH)]
    for path in paths:
        if isinstance(path, dict) and path.get("id") == path_id:
            path["serviceName"] = display_name(service)
            path["servicePort"] = _service_port(service_data)
            path["_linkedService"] = service.id
            return


def _service_port(data: Mapping[str, Any]) -> int:
    port = data.get("port")
    if isinstance(port, int):
        return port
    for item in _items(data, "ports"):
        if isinstance(item.get("port"), int):
            return int(item["port"])
    return 80


def _mount(
    workload: dict[str, Any], before: Mapping[str, Any] | None, source: Node, own: Mapping[str, Any]
) -> None:
    volume_type, link_key, fallback = _MOUNTS[source.kind]
    name = display_name(source)
    default_path = (own.get("mountPath") or fallback) if fallback else f"/data/{name}"
    previous = before or _adopt(workload, "volumeMounts", volume_type, name)
    mount: dict[str, Any] = {
        "type": volume_type,
        "name": name,
        "mountPath": previous.get("mountPath") or default_path,
        "nodeId": source.id,
        "readOnly": True if fallback else bool(previous.get("readOnly", False)),
    }
    if previous.get("subPath"):
        mount["subPath"] = previous["subPath"]
    workload.setdefault("volumeMounts", []).append(mount)
    _link(workload, link_key, source.id)


def _env_from(workload: dict[str, Any], before: Mapping[str, Any] | None, source: Node) -> None:
    source_type, link_key, _ = _MOUNTS[source.kind]
    name = display_name(source)
    previous = before or _adopt(workload, "envFrom", source_type, name)
    entry: dict[str, Any] = {"type": source_type, "name": name, "nodeId": source.id}
    if previous.get("prefix"):
        entry["prefix"] = previous["prefix"]
    workload.setdefault("envFrom", []).append(entry)
    _link(workload, link_key, source.id)


def _link(workload: dict[str, Any], link_key: str, source_id: str) -> None:
    links = workload.setdefault(link_key, [])
    if source_id not in links:
        links.append(source_id)


def _adopt(workload: dict[str, Any], key: str, item_type: str, name: str) -> Mapping[str, Any]:
    """Take out a user item of ``workload[key]`` (a mount or an envFrom entry) for the same object without
    a nodeId (as the reference's imports wrote them), so the edge's item keeps its settings instead of
    taking the object twice."""
    items = workload.get(key)
    if not isinstance(items, list):
        return {}
    for index, item in enumerate(items):
        if (
            isinstance(item, dict)
            and not item.get("nodeId")
            and item.get("type") == item_type
            and item.get("name") == name
        ):
            del items[index]
            if not items:
                del workload[key]
            return item
    return {}


def _police(policy: dict[str, Any], handle: str, source: Node, workload: Node) -> None:
    if handle == OUTPUT_HANDLE:
        linked = policy.setdefault("_linkedWorkloads", [])
        if workload.id not in linked:
            linked.append(workload.id)
        return
    for key, peers_key in (("ingressRules", "from"), ("egressRules", "to")):
        for rule in _items(policy, key):
            if rule.get("id") != handle:
                continue
            peers = rule.get(peers_key)
            if not isinstance(peers, list):
                peers = rule[peers_key] = []
            peer: dict[str, Any] = {
                "id": _free_id(f"linked-{workload.id}", peers),
                "type": "podSelector",
                "podSelector": {NODE_LABEL: workload.id},
                "_linkedWorkload": workload.id,
            }
            namespace, own_namespace = workload.data.get("namespace"), source.data.get("namespace")
            if namespace and own_namespace and namespace != own_namespace:
                peer["namespaceSelector"] = {"kubernetes.io/metadata.name": namespace}
            peers.append(peer)
            return


def _free_id(wanted: str, items: Sequence[Any]) -> str:
    taken = {item.get("id") for item in items if isinstance(item, dict)}
    candidate, n = wanted, 1
    while candidate in taken:
        n += 1
        candidate = f"{wanted}-{n}"
    return candidate


def _select_linked_workloads(policy: dict[str, Any]) -> None:
    """One output-linked workload → ``podSelector`` selects it; several → no podSelector (the renderer
    selects ``trellis.dev/node In _linkedWorkloads``)."""
    linked = policy.get("_linkedWorkloads")
    if not linked:
        return
    if len(linked) == 1:
        policy["podSelector"] = {NODE_LABEL: linked[0]}
    else:
        policy.pop("podSelector", None)
