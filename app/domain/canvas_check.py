"""Checking a canvas sent by a client: sanitise every node, check every edge, derive the linked fields.

A canvas being drawn is incomplete, so what it still lacks before it can be deployed — missing required
fields (a Deployment without an image), a Service connected to nothing, two objects with one name — is a
*warning* when it is saved and an *error* only with ``strict=True`` (the deploy step), or through
:func:`missing_required`. Everything that can never be right (a value of the wrong type, an unknown kind,
a disallowed edge, a cycle) is an error either way. Unknown fields are dropped with a warning, run-time
keys (``_status…``) silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.domain.edges import (
    SINGLE_SOURCE_KINDS,
    SINGLE_TARGET_SOURCES,
    WORKLOAD_KINDS,
    allowed_targets,
    derive_linked_fields,
    display_name,
    edge_rule,
    effective_handle,
    handle_problem,
    is_dependency,
)
from app.domain.graphs import find_cycle
from app.domain.kinds import KINDS, NodeKindSpec, resolve_kind
from app.domain.kinds.coerce import sanitise_fields
from app.domain.kinds.legacy import modernise
from app.domain.kinds.rules import contradictions, lacking
from app.domain.names import namespace_problem, object_name_problem
from app.domain.problems import Problem, ProblemLog, index_path, key_path, show
from app.domain.workflows import Canvas, Edge, Node, Position

MAX_NODES = 500
MAX_EDGES = 2000
MAX_DEPTH = 8
"""Most containers nested in one node's data, counting ``data`` itself."""

_NODE_ID = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_SECRET_VALUE_KEYS = frozenset({"data", "stringData", "values"})


@dataclass(frozen=True, slots=True)
class CanvasCheck:
    """The outcome of :func:`check_canvas`.

    ``canvas`` is the sanitised canvas with linked fields derived; store it only when ``ok`` (with errors
    it is a best effort: invalid values, nodes and edges are left out).
    """

    canvas: Canvas
    warnings: tuple[Problem, ...]
    errors: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """Whether there are no errors."""
        return not self.errors


def check_canvas(canvas: Canvas, *, strict: bool = False) -> CanvasCheck:
    """Sanitise and check ``canvas`` as a client sent it (kinds may be aliases, data any JSON object).

    Kinds become canonical, values are coerced to their field types, unknown fields dropped, edges
    checked against the semantics table, and linked fields recomputed from the edges. With ``strict``,
    what the canvas still lacks (see :func:`missing_required`) is an error instead of a warning.
    Idempotent: checking the resulting canvas again gives the same canvas.
    """
    log = ProblemLog()
    if len(canvas.nodes) > MAX_NODES:
        log.error("nodes", f"a canvas has at most {MAX_NODES} nodes, this one has {len(canvas.nodes)}")
    if len(canvas.edges) > MAX_EDGES:
        log.error("edges", f"a canvas has at most {MAX_EDGES} edges, this one has {len(canvas.edges)}")
    if log.has_errors:
        return CanvasCheck(Canvas(), (), tuple(log.errors))
    known_ids = {node.id for node in canvas.nodes if isinstance(node.id, str)}
    nodes = _check_nodes(canvas.nodes, log)
    edges = _check_edges(canvas.edges, nodes, known_ids, log)
    _check_cycle(canvas, nodes, known_ids, log)
    result = Canvas(derive_linked_fields(tuple(nodes.values()), edges), edges)
    index_of: dict[str, int] = {}
    for index, node in enumerate(canvas.nodes):
        index_of.setdefault(node.id, index)
    _lacking(result, log, [index_of[node.id] for node in result.nodes])
    warnings, errors = log.warnings, log.errors
    if strict:
        errors = errors + log.incomplete
    else:
        warnings = warnings + log.incomplete
    return CanvasCheck(result, tuple(warnings), tuple(errors))


def missing_required(canvas: Canvas) -> tuple[Problem, ...]:
    """What a checked ``canvas`` still lacks before it can be deployed (paths index its own nodes)."""
    log = ProblemLog()
    _lacking(canvas, log, list(range(len(canvas.nodes))))
    return tuple(log.incomplete)


# --- nodes -------------------------------------------------------------------------------------------------


def _check_nodes(nodes: Sequence[Node], log: ProblemLog) -> dict[str, Node]:
    out: dict[str, Node] = {}
    first_index: dict[str, int] = {}
    for index, node in enumerate(nodes):
        path = f"nodes[{index}]"
        if not check_node_id(node.id, path, first_index, log):
            continue
        first_index[node.id] = index
        spec = resolve_kind(node.kind) if isinstance(node.kind, str) else None
        if spec is None:
            log.error(f"{path}.kind", f"unknown node kind {show(node.kind)}; use one of {', '.join(KINDS)}")
            continue
        clean = _check_data(spec, node.data, f"{path}.data", log)
        if clean is None:
            continue
        if not all(is_finite(value) for value in (node.position.x, node.position.y)):
            log.error(f"{path}.position", "x and y must be finite numbers")
            continue
        out[node.id] = Node(node.id, spec.kind, Position(node.position.x, node.position.y), clean)
    return out


def is_finite(value: Any) -> bool:
    """Whether ``value`` is a finite int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_node_id(node_id: Any, path: str, first_index: Mapping[str, int], log: ProblemLog) -> bool:
    """Whether ``node_id`` is a usable node id (non-empty, unique so far, a label value); why not, logged."""
    if not isinstance(node_id, str) or not node_id:
        log.error(f"{path}.id", "a node needs a non-empty id")
        return False
    if node_id in first_index:
        log.error(f"{path}.id", f"duplicate node id {node_id!r} (also nodes[{first_index[node_id]}])")
        return False
    if len(node_id) > 63 or not _NODE_ID.match(node_id):
        log.error(
            f"{path}.id",
            "must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or "
            f"digit (it becomes a label value), got {show(node_id)}",
        )
        return False
    return True


def _check_data(spec: NodeKindSpec, data: Any, path: str, log: ProblemLog) -> dict[str, Any] | None:
    if not isinstance(data, Mapping):
        log.error(path, f"must be an object, got {show(data)}")
        return None
    if nesting_depth(data) > MAX_DEPTH:
        log.error(path, f"is nested more than {MAX_DEPTH} levels deep; no field of a {spec.kind} needs that")
        return None
    broken = _unencodable_text(data, path)
    if broken is not None:
        log.error(broken, "holds text that is not valid Unicode (a lone surrogate); it cannot be stored")
        return None
    raw = modernise(spec.kind, data)
    if spec.kind == "Secret":
        for key in sorted(_SECRET_VALUE_KEYS & raw.keys()):
            del raw[key]
            log.warn(
                f"{path}.{key}",
                f"Secret values are never kept in node data, so {key!r} was dropped: list the key names in "
                "keys and set the values through the Secret's values",
            )
    clean = sanitise_fields(spec.fields, raw, path, log)
    for field, problem in (
        ("name", lambda value: object_name_problem(spec.kind, value)),
        ("namespace", namespace_problem),
    ):
        value = clean.get(field)
        message = problem(value) if isinstance(value, str) and value else None
        if message:
            log.error(f"{path}.{field}", message)
            del clean[field]
    contradictions(spec.kind, clean, path, log)
    return clean


def _unencodable_text(value: Any, path: str) -> str | None:
    """The path of the first key or string in ``value`` that cannot be encoded as UTF-8, if any."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return where
        elif isinstance(item, Mapping):
            for key, child in item.items():
                child_path = key_path(where, str(key))
                if isinstance(key, str) and _unencodable_text(key, child_path) is not None:
                    return child_path
                stack.append((child, child_path))
        elif isinstance(item, list | tuple):
            stack.extend((child, index_path(where, i)) for i, child in enumerate(item))
    return None


def nesting_depth(value: Any) -> int:
    """How many containers are nested in ``value`` (a scalar is 0), stopping early past the limit."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


# --- edges -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _EdgeSeen:
    """What earlier edges took, to find duplicates and over-connected nodes."""

    ids: dict[str, int]
    pairs: dict[tuple[str, str, str | None], int]
    handles: dict[tuple[str, str | None], int]
    sources: dict[tuple[str, str], int]


def _check_edges(
    edges: Sequence[Edge], nodes: Mapping[str, Node], known_ids: set[str], log: ProblemLog
) -> tuple[Edge, ...]:
    seen = _EdgeSeen({}, {}, {}, {})
    out: list[Edge] = []
    for index, edge in enumerate(edges):
        path = f"edges[{index}]"
        if not isinstance(edge.id, str) or not edge.id:
            log.error(f"{path}.id", "an edge needs a non-empty id")
            continue
        if edge.id in seen.ids:
            log.error(f"{path}.id", f"duplicate edge id {edge.id!r} (also edges[{seen.ids[edge.id]}])")
            continue
        seen.ids[edge.id] = index
        edge = replace(
            edge, source_handle=edge.source_handle or None, target_handle=edge.target_handle or None
        )
        if _check_edge(index, edge, nodes, known_ids, seen, log):
            out.append(edge)
    return tuple(out)


def _check_edge(
    index: int, edge: Edge, nodes: Mapping[str, Node], known: set[str], seen: _EdgeSeen, log: ProblemLog
) -> bool:
    path = f"edges[{index}]"
    missing = [end for end in ("source", "target") if getattr(edge, end) not in known]
    for end in missing:
        log.error(f"{path}.{end}", f"no node has the id {show(getattr(edge, end))}")
    if missing:
        return False
    if edge.source == edge.target:
        log.error(path, f"an edge cannot connect node {edge.source!r} to itself")
        return False
    source, target = nodes.get(edge.source), nodes.get(edge.target)
    if source is None or target is None:
        return False  # the node itself is invalid and reported
    rule = edge_rule(source.kind, target.kind)
    if rule is None:
        log.error(path, _not_allowed(source.kind, target.kind))
        return False
    problem = handle_problem(source, edge.source_handle)
    if problem:
        log.error(f"{path}.sourceHandle", problem)
        return False
    handle = effective_handle(source, edge)
    return _check_multiplicity(index, edge, source, target, handle, seen, log) and _check_namespaces(
        path, edge, source, target, log
    )


def _not_allowed(source_kind: str, target_kind: str) -> str:
    targets = allowed_targets(source_kind)
    message = f"a {source_kind} cannot connect to a {target_kind}"
    if targets:
        message += f" (allowed targets of {source_kind}: {', '.join(targets)})"
    else:
        message += f" (a {source_kind} is never the source of an edge)"
    if edge_rule(target_kind, source_kind) is not None:
        message += f"; did you mean to connect the {target_kind} to the {source_kind}?"
    return message


def _check_multiplicity(
    index: int, edge: Edge, source: Node, target: Node, handle: str | None, seen: _EdgeSeen, log: ProblemLog
) -> bool:
    path = f"edges[{index}]"
    pair = (edge.source, edge.target, handle)
    if pair in seen.pairs:
        log.error(path, f"duplicates edges[{seen.pairs[pair]}]: the same two nodes are already connected so")
        return False
    if source.kind in SINGLE_TARGET_SOURCES and (edge.source, handle) in seen.handles:
        other = seen.handles[(edge.source, handle)]
        what = f"path {handle!r} of Ingress" if source.kind == "Ingress" else source.kind
        log.error(
            path,
            f"{what} {display_name(source)!r} is already connected by edges[{other}]; it connects to one "
            f"{'Service' if source.kind == 'Ingress' else 'workload'} only",
        )
        return False
    if source.kind in SINGLE_SOURCE_KINDS and (source.kind, edge.target) in seen.sources:
        other = seen.sources[(source.kind, edge.target)]
        log.error(
            path,
            f"{target.kind} {display_name(target)!r} already has a {source.kind} (edges[{other}]); "
            "two would fight over its replicas",
        )
        return False
    seen.pairs[pair] = index
    seen.handles.setdefault((edge.source, handle), index)
    seen.sources.setdefault((source.kind, edge.target), index)
    return True


def _check_namespaces(path: str, edge: Edge, source: Node, target: Node, log: ProblemLog) -> bool:
    ours, theirs = source.data.get("namespace"), target.data.get("namespace")
    if not ours or not theirs or ours == theirs:
        return True
    if source.kind == "NetworkPolicy" and edge.source_handle not in (None, "output"):
        return True  # a rule peer may be in another namespace (a namespaceSelector is added)
    if is_dependency(source.kind, target.kind):
        return True  # a dependency only orders the run: namespaces do not matter
    log.error(
        path,
        f"{source.kind} {display_name(source)!r} is in namespace {ours!r} but {target.kind} "
        f"{display_name(target)!r} is in {theirs!r}; Kubernetes only connects them within one namespace",
    )
    return False


def _check_cycle(canvas: Canvas, nodes: Mapping[str, Node], known: set[str], log: ProblemLog) -> None:
    pairs = [(e.source, e.target) for e in canvas.edges if e.source in known and e.target in known]
    cycle = find_cycle([n.id for n in canvas.nodes], [(s, t) for s, t in pairs if s != t])
    if cycle is None:
        return
    closing = next(
        (i for i, e in enumerate(canvas.edges) if e.source == cycle[-1] and e.target == cycle[0]),
        0,
    )
    around = " → ".join((*cycle, cycle[0]))
    if all(node_id in nodes and nodes[node_id].kind in WORKLOAD_KINDS for node_id in cycle):
        log.error(
            f"edges[{closing}]",
            f"the dependencies form a cycle ({around}): none of these workloads could ever start first; "
            "remove one of these edges",
        )
        return
    log.error(f"edges[{closing}]", f"the edges form a cycle ({around}); a workflow must be acyclic")


# --- what is still lacking ---------------------------------------------------------------------------------


def _lacking(canvas: Canvas, log: ProblemLog, indexes: Sequence[int]) -> None:
    named: dict[tuple[str, str, str], int] = {}
    for node, index in zip(canvas.nodes, indexes, strict=True):
        spec = resolve_kind(node.kind)
        if spec is None:
            continue
        path = f"nodes[{index}].data"
        lacking(spec, node.data, path, log)
        key = (spec.kind, str(node.data.get("namespace") or ""), display_name(node))
        if key in named:
            log.lack(
                f"{path}.name",
                f"nodes[{named[key]}] is also a {spec.kind} named {key[2]!r} in this namespace; "
                "give each its own name",
            )
        else:
            named[key] = index
