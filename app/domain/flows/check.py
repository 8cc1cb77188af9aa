"""Checking a FLOW canvas sent by a client: sanitise every step, check ports and edges, and the graph rules.

Errors (the canvas is refused, nothing is saved): a node kind that is not a flow kind (Kubernetes kinds
included), a value of the wrong type, a port its kind does not have, a second edge into a single in-port,
more or fewer than one ``Start`` (an empty canvas is fine), a node not reachable from the Start, a cycle,
an expression that does not compile or reads a step that is not upstream, both ``code`` and ``fileId``, an
AiAgent's ``baseUrl`` that is not an http(s) URL (or holds credentials) or ``responseSchema`` that is not a
JSON Schema (its ``promptTemplate`` is Jinja2, checked when the step runs: the domain does not load Jinja2).

Warnings: unknown fields dropped; a Condition branch connected to nothing (the run simply ends there when
that branch is taken). Incomplete (a warning at save, an error with ``strict``, as for topologies):
required fields left empty, a Function with neither ``code`` nor ``fileId``, an OPENAI_COMPATIBLE AiAgent
with no ``baseUrl``, an ANTHROPIC one with no ``apiKeySecret``.

Edges are stored with both handles filled in (the kind's default out-port, its single in-port), so the
engine never guesses. Idempotent: checking the resulting canvas again gives the same canvas.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from app.domain.canvas_check import (
    MAX_DEPTH,
    MAX_EDGES,
    MAX_NODES,
    CanvasCheck,
    check_node_id,
    is_finite,
    nesting_depth,
)
from app.domain.flows.expressions import parse, reference_problem, template_parts
from app.domain.flows.kinds import FLOW_KINDS, FlowKindSpec
from app.domain.graphs import find_cycle
from app.domain.kinds import FieldSpec, FieldType, resolve_kind
from app.domain.kinds.coerce import sanitise_fields
from app.domain.problems import Problem, ProblemLog, index_path, key_path, show
from app.domain.workflows import Canvas, Edge, Node, Position
from app.domain.workspace_secrets import name_problem
from app.domain.workspace_secrets import reference as secret_reference
from app.domain.workspace_secrets import reference_problem as secret_reference_problem

_STATUS = re.compile(r"^(?:[1-5][0-9][0-9]|[1-5]xx)$")


def check_flow(canvas: Canvas, *, strict: bool = False) -> CanvasCheck:
    """Sanitise and check a FLOW ``canvas`` as a client sent it; see the module's rules."""
    log = ProblemLog()
    if len(canvas.nodes) > MAX_NODES:
        log.error("nodes", f"a flow has at most {MAX_NODES} nodes, this one has {len(canvas.nodes)}")
    if len(canvas.edges) > MAX_EDGES:
        log.error("edges", f"a flow has at most {MAX_EDGES} edges, this one has {len(canvas.edges)}")
    if log.has_errors:
        return CanvasCheck(Canvas(), (), tuple(log.errors))
    index_of: dict[str, int] = {}
    nodes = _check_nodes(canvas.nodes, index_of, log)
    known = {node.id for node in canvas.nodes if isinstance(node.id, str)}
    edges = _check_edges(canvas.edges, nodes, known, log)
    graph = _Graph.of(edges)
    _check_start(canvas, nodes, graph, index_of, log)
    _check_cycle(canvas, edges, log)
    _check_branches(nodes, edges, index_of, log)
    _check_expressions(nodes, graph, known, index_of, log)
    for node in nodes.values():
        _lacking(FLOW_KINDS[node.kind], node, f"nodes[{index_of[node.id]}].data", log)
    warnings, errors = log.warnings, log.errors
    if strict:
        errors = errors + log.incomplete
    else:
        warnings = warnings + log.incomplete
    return CanvasCheck(Canvas(tuple(nodes.values()), edges), tuple(warnings), tuple(errors))


def flow_kinds_in(canvas: Canvas) -> tuple[Problem, ...]:
    """Errors for the flow-kind nodes of a TOPOLOGY canvas (at ``nodes[i].kind``)."""
    return tuple(
        Problem(
            f"nodes[{index}].kind",
            f"{node.kind} is a flow step; a TOPOLOGY workflow holds Kubernetes resources only "
            "(create a workflow of type FLOW for steps)",
        )
        for index, node in enumerate(canvas.nodes)
        if isinstance(node.kind, str) and node.kind in FLOW_KINDS
    )


# --- nodes -------------------------------------------------------------------------------------------------


def _check_nodes(nodes: Sequence[Node], index_of: dict[str, int], log: ProblemLog) -> dict[str, Node]:
    out: dict[str, Node] = {}
    for index, node in enumerate(nodes):
        path = f"nodes[{index}]"
        if not check_node_id(node.id, path, index_of, log):
            continue
        index_of[node.id] = index
        spec = FLOW_KINDS.get(node.kind) if isinstance(node.kind, str) else None
        if spec is None:
            log.error(f"{path}.kind", _unknown_kind(node.kind))
            continue
        clean = _check_data(spec, node.data, f"{path}.data", log)
        if clean is None:
            continue
        if not all(is_finite(value) for value in (node.position.x, node.position.y)):
            log.error(f"{path}.position", "x and y must be finite numbers")
            continue
        out[node.id] = Node(node.id, spec.kind, Position(node.position.x, node.position.y), clean)
    return out


def _unknown_kind(kind: Any) -> str:
    kinds = ", ".join(FLOW_KINDS)
    if isinstance(kind, str) and resolve_kind(kind) is not None:
        return (
            f"{kind} is a Kubernetes resource; a FLOW workflow holds flow steps only ({kinds}). "
            "Put resources in a workflow of type TOPOLOGY"
        )
    return f"unknown flow node kind {show(kind)}; use one of {kinds}"


def _check_data(spec: FlowKindSpec, data: Any, path: str, log: ProblemLog) -> dict[str, Any] | None:
    if not isinstance(data, Mapping):
        log.error(path, f"must be an object, got {show(data)}")
        return None
    if nesting_depth(data) > MAX_DEPTH:
        log.error(path, f"is nested more than {MAX_DEPTH} levels deep; no field of a {spec.kind} needs that")
        return None
    clean = sanitise_fields(spec.fields, data, path, log)
    if spec.kind == "Function" and clean.get("code") and clean.get("fileId"):
        log.error(f"{path}.fileId", "give either code or fileId, not both")
        del clean["fileId"]
    if spec.kind == "AiAgent":
        _check_ai_agent(clean, path, log)
    for index, status in enumerate(clean.get("expectedStatus", ())):
        if not _STATUS.match(status):
            log.error(
                index_path(f"{path}.expectedStatus", index),
                f"must be a status code (200) or a class (2xx), got {show(status)}",
            )
    return clean


def _check_ai_agent(clean: dict[str, Any], path: str, log: ProblemLog) -> None:
    """An AiAgent's baseUrl is an http(s) URL with a host (no credentials: the key is a secret) and its
    responseSchema a JSON Schema (draft 2020-12) as JSON text; a bad one is dropped."""
    base_url = clean.get("baseUrl")
    if base_url:
        parts = urlsplit(base_url)
        problem = None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            problem = f"must be an http or https URL with a host, got {show(base_url)}"
        elif parts.username or parts.password:
            problem = "must not hold credentials: name the API key's workspace secret in apiKeySecret"
        elif parts.query or parts.fragment:
            problem = "must be a base URL without a query or fragment, e.g. https://api.openai.com/v1"
        if problem:
            log.error(f"{path}.baseUrl", problem)
            del clean["baseUrl"]
    schema_text = clean.get("responseSchema")
    if schema_text:
        problem = response_schema_problem(schema_text)
        if problem:
            log.error(f"{path}.responseSchema", problem)
            del clean["responseSchema"]


def response_schema_problem(text: str) -> str | None:
    """Why ``text`` is not a usable JSON Schema for an answer (``None`` when it is one)."""
    try:
        schema = json.loads(text)
    except ValueError as exc:
        return f"must be a JSON Schema written as JSON; it does not parse: {exc}"
    if not isinstance(schema, dict):
        return f"must be a JSON Schema object, got {show(schema)}"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path)
        return f"is not a valid JSON Schema (draft 2020-12){f' at {where}' if where else ''}: {exc.message}"
    return None


# --- edges -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Seen:
    ids: dict[str, int] = field(default_factory=dict)
    links: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    inputs: dict[tuple[str, str], int] = field(default_factory=dict)


def _check_edges(
    edges: Sequence[Edge], nodes: Mapping[str, Node], known: set[str], log: ProblemLog
) -> tuple[Edge, ...]:
    seen = _Seen()
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
        checked = _check_edge(path, edge, nodes, known, log)
        if checked is None:
            continue
        link = (checked.source, checked.source_handle or "", checked.target, checked.target_handle or "")
        if link in seen.links:
            log.error(path, f"duplicates edges[{seen.links[link]}]: these ports are already connected")
            continue
        target = nodes[checked.target]
        port = FLOW_KINDS[target.kind].in_port(checked.target_handle or "")
        taken = (checked.target, checked.target_handle or "")
        if port is not None and not port.many and taken in seen.inputs:
            log.error(
                f"{path}.target",
                f"{target.kind} {target.id!r} already gets its input from edges[{seen.inputs[taken]}]; "
                "a step takes one input: join branches with a Merge first",
            )
            continue
        seen.links[link] = index
        seen.inputs.setdefault(taken, index)
        out.append(checked)
    return tuple(out)


def _check_edge(
    path: str, edge: Edge, nodes: Mapping[str, Node], known: set[str], log: ProblemLog
) -> Edge | None:
    missing = [end for end in ("source", "target") if getattr(edge, end) not in known]
    for end in missing:
        log.error(f"{path}.{end}", f"no node has the id {show(getattr(edge, end))}")
    if missing:
        return None
    if edge.source == edge.target:
        log.error(path, f"an edge cannot connect node {edge.source!r} to itself")
        return None
    source, target = nodes.get(edge.source), nodes.get(edge.target)
    if source is None or target is None:
        return None  # the node itself is invalid and reported
    out = _out_port(FLOW_KINDS[source.kind], source.id, edge.source_handle, f"{path}.sourceHandle", log)
    into = _in_port(FLOW_KINDS[target.kind], target.id, edge.target_handle, f"{path}.targetHandle", log)
    if out is None or into is None:
        return None
    return Edge(edge.id, edge.source, edge.target, out, into)


def _out_port(spec: FlowKindSpec, node_id: str, handle: str | None, path: str, log: ProblemLog) -> str | None:
    if not spec.out_ports:
        log.error(path, f"{spec.kind} {node_id!r} has no out-port: nothing can follow it")
        return None
    names = ", ".join(port.name for port in spec.out_ports)
    if not handle:
        if spec.default_out is None:
            log.error(path, f"{spec.kind} {node_id!r} has several out-ports; name one of {names}")
        return spec.default_out
    if spec.out_port(handle) is None:
        log.error(path, f"{spec.kind} has no out-port {show(handle)}; its out-ports: {names}")
        return None
    return handle


def _in_port(spec: FlowKindSpec, node_id: str, handle: str | None, path: str, log: ProblemLog) -> str | None:
    if not spec.in_ports:
        log.error(path, f"{spec.kind} {node_id!r} has no in-port: nothing runs before it")
        return None
    if not handle:
        return spec.in_ports[0].name
    if spec.in_port(handle) is None:
        names = ", ".join(port.name for port in spec.in_ports)
        log.error(path, f"{spec.kind} has no in-port {show(handle)}; its in-ports: {names}")
        return None
    return handle


# --- the graph ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Graph:
    successors: Mapping[str, tuple[str, ...]]
    predecessors: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, edges: Sequence[Edge]) -> _Graph:
        after: dict[str, list[str]] = defaultdict(list)
        before: dict[str, list[str]] = defaultdict(list)
        for edge in edges:
            after[edge.source].append(edge.target)
            before[edge.target].append(edge.source)
        return cls({k: tuple(v) for k, v in after.items()}, {k: tuple(v) for k, v in before.items()})

    def walk(self, start: str, links: Mapping[str, tuple[str, ...]]) -> set[str]:
        """Every id reachable from ``start`` along ``links`` (``start`` not included)."""
        found: set[str] = set()
        stack = list(links.get(start, ()))
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(links.get(current, ()))
        return found


def _check_start(
    canvas: Canvas, nodes: Mapping[str, Node], graph: _Graph, index_of: Mapping[str, int], log: ProblemLog
) -> None:
    starts = [node.id for node in nodes.values() if node.kind == "Start"]
    if len(starts) > 1:
        for extra in starts[1:]:
            log.error(
                f"nodes[{index_of[extra]}].kind",
                f"a flow has exactly one Start; nodes[{index_of[starts[0]]}] is already one",
            )
        return
    if not starts:
        if canvas.nodes:
            log.error("nodes", "a flow needs exactly one Start node, where its runs begin; add one")
        return
    reachable = graph.walk(starts[0], graph.successors) | {starts[0]}
    for node in nodes.values():
        if node.id not in reachable:
            log.error(
                f"nodes[{index_of[node.id]}]",
                f"{node.kind} {node.id!r} cannot be reached from the Start {starts[0]!r}, so it would never "
                "run; connect it or remove it",
            )


def _check_cycle(canvas: Canvas, edges: Sequence[Edge], log: ProblemLog) -> None:
    cycle = find_cycle([node.id for node in canvas.nodes], [(e.source, e.target) for e in edges])
    if cycle is None:
        return
    closing = next(
        (i for i, e in enumerate(canvas.edges) if e.source == cycle[-1] and e.target == cycle[0]), 0
    )
    around = " → ".join((*cycle, cycle[0]))
    log.error(f"edges[{closing}]", f"the edges form a cycle ({around}); a flow must be acyclic")


def _check_branches(
    nodes: Mapping[str, Node], edges: Sequence[Edge], index_of: Mapping[str, int], log: ProblemLog
) -> None:
    used = {(edge.source, edge.source_handle) for edge in edges}
    for node in nodes.values():
        if node.kind != "Condition":
            continue
        for branch in ("true", "false"):
            if (node.id, branch) not in used:
                log.warn(
                    f"nodes[{index_of[node.id]}]",
                    f"the {branch} branch of Condition {node.id!r} is connected to nothing: when it is taken "
                    "the run ends there",
                )


def _check_expressions(
    nodes: Mapping[str, Node], graph: _Graph, known: set[str], index_of: Mapping[str, int], log: ProblemLog
) -> None:
    for node in nodes.values():
        path = f"nodes[{index_of[node.id]}].data"
        upstream = graph.walk(node.id, graph.predecessors)
        _check_secret_names(node, path, log)
        for where, expression in _expressions(node, path):
            if node.kind == "HttpRequest" and secret_reference(expression) is not None:
                problem = secret_reference_problem(expression)  # {{ secrets.NAME }}: resolved at run time
                if problem:
                    log.error(where, problem)
                continue
            parsed = parse(expression)
            if parsed.error:
                log.error(where, parsed.error)
                continue
            for reference in parsed.references:
                problem = reference_problem(reference, known, upstream)
                if problem:
                    log.error(where, problem)


def _check_secret_names(node: Node, path: str, log: ProblemLog) -> None:
    """A Function's ``secrets`` and an AiAgent's ``apiKeySecret`` name secrets (whether they exist is
    checked when the step runs)."""
    listed = node.data.get("secrets") if node.kind == "Function" else None
    for index, name in enumerate(listed or ()):
        problem = name_problem(name)
        if problem:
            log.error(index_path(f"{path}.secrets", index), f"{show(name)} {problem}")
    key = node.data.get("apiKeySecret") if node.kind == "AiAgent" else None
    if key:
        problem = name_problem(key)
        if problem:
            log.error(f"{path}.apiKeySecret", f"{show(key)} {problem}")


def _expressions(node: Node, path: str) -> list[tuple[str, str]]:
    data = node.data
    found: list[tuple[str, str]] = []
    if node.kind == "Condition" and data.get("expression"):
        found.append((f"{path}.expression", data["expression"]))
    for name, expression in (data.get("inputMapping") or {}).items():
        found.append((key_path(f"{path}.inputMapping", name), expression))
    if node.kind == "HttpRequest":
        texts = [("urlTemplate", data.get("urlTemplate") or ""), ("body", data.get("body") or "")]
        texts += [(key_path("headers", k), v) for k, v in (data.get("headers") or {}).items()]
        for where, text in texts:
            found += [(f"{path}.{where}", part) for part in template_parts(text)]
    return found


# --- what is still lacking ---------------------------------------------------------------------------------


def _lacking(spec: FlowKindSpec, node: Node, path: str, log: ProblemLog) -> None:
    _required(spec.fields, node.data, path, log)
    if spec.kind == "AiAgent":
        provider = node.data.get("provider") or "OPENAI_COMPATIBLE"
        if provider == "OPENAI_COMPATIBLE" and not node.data.get("baseUrl"):
            log.lack(
                f"{path}.baseUrl",
                "baseUrl is required for an OPENAI_COMPATIBLE provider: the API's base URL, e.g. "
                "https://api.openai.com/v1",
            )
        if provider == "ANTHROPIC" and not node.data.get("apiKeySecret"):
            log.lack(f"{path}.apiKeySecret", "name the workspace secret holding the Anthropic API key")
    if spec.kind == "Function" and not node.data.get("code") and not node.data.get("fileId"):
        log.lack(
            f"{path}.code", "the Function has no source yet: write code or choose a workspace file (fileId)"
        )


def _required(fields: Sequence[FieldSpec], data: Mapping[str, Any], path: str, log: ProblemLog) -> None:
    for spec in fields:
        value = data.get(spec.name)
        here = key_path(path, spec.name)
        if value in (None, "", [], {}):
            if spec.required:
                log.lack(
                    here, f"{spec.name} is required: {spec.description[0].lower()}{spec.description[1:]}"
                )
        elif spec.type is FieldType.OBJECT and isinstance(value, Mapping):
            _required(spec.fields, value, here, log)
