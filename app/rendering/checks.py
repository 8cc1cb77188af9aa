"""Everything checked before a template runs: the canvas is deployable, names and namespaces are valid.

Problems are collected and raised together as one :class:`~app.errors.Invalid` whose field paths point
into the request: ``workflowId``, ``namespace``, ``nodes[3].data.image``, ``edges[1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.domain.canvas_check import check_canvas
from app.domain.edges import OUTPUT_HANDLE, display_name, is_dependency
from app.domain.kinds import KINDS, NodeKindSpec
from app.domain.kinds.formats import label_value_problem
from app.domain.names import namespace_problem, object_name_problem
from app.domain.problems import show
from app.domain.workflows import Canvas, Node
from app.errors import FieldError, Invalid
from app.rendering.bundle import RenderRequest
from app.rendering.encoding import not_text

CLAIM_MOUNT_ROOT = "/data"
"""StatefulSet volume claim templates are mounted at ``/data/<claim name>``."""


@dataclass(frozen=True, slots=True)
class Placed:
    """A node ready to render: its checked data, the object name, and the namespace it goes in.

    ``index`` is its position in the request's canvas (``nodes[index]`` in error paths); ``namespace`` is
    ``None`` for cluster-scoped kinds.
    """

    index: int
    node: Node
    spec: NodeKindSpec
    name: str
    namespace: str | None

    @property
    def path(self) -> str:
        """The path of the node's data in the request: ``nodes[3].data``."""
        return f"nodes[{self.index}].data"


def preflight(request: RenderRequest) -> tuple[Canvas, tuple[Placed, ...]]:
    """The checked canvas and its placed nodes, or :class:`Invalid` listing every problem."""
    problems = _request_problems(request)
    unencodable = not_text(request)
    if unencodable:  # checked first: the canvas check cannot measure such strings
        raise _invalid(problems + unencodable)
    result = check_canvas(request.canvas, strict=True)
    problems += [FieldError(p.path, p.message) for p in result.errors]
    if problems:
        raise _invalid(problems)
    canvas = result.canvas
    index_of: dict[str, int] = {}
    for index, node in enumerate(request.canvas.nodes):
        index_of.setdefault(node.id, index)
    placed = tuple(_place(node, index_of[node.id], request.namespace, problems) for node in canvas.nodes)
    _unique_objects(placed, problems)
    _edges_within_namespaces(canvas, request, {p.node.id: p for p in placed}, problems)
    for item in placed:
        _ingress_routes(item, problems)
        _claim_mounts(item, problems)
        _ip_blocks(item, problems)
    if problems:
        raise _invalid(problems)
    return canvas, placed


def _invalid(problems: list[FieldError]) -> Invalid:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return Invalid(f"the workflow cannot be rendered: {first.path}: {first.message}{more}", problems)


def _request_problems(request: RenderRequest) -> list[FieldError]:
    problems: list[FieldError] = []
    if not request.workflow_id or label_value_problem(request.workflow_id):
        problems.append(
            FieldError(
                "workflowId",
                "must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or "
                f"digit (it becomes a label value), got {show(request.workflow_id)}",
            )
        )
    message = namespace_problem(request.namespace) if request.namespace else "a workflow needs a namespace"
    if message:
        problems.append(FieldError("namespace", message))
    return problems


def _place(node: Node, index: int, workflow_namespace: str, problems: list[FieldError]) -> Placed:
    spec = KINDS[node.kind]
    name = display_name(node)
    path = f"nodes[{index}].data"
    if not node.data.get("name"):
        message = object_name_problem(spec.kind, name)
        if message:
            problems.append(
                FieldError(
                    f"{path}.name",
                    f"name is empty, so the node id names the object, but that {message}; set a name",
                )
            )
    namespace = None
    if spec.namespaced:
        namespace = str(node.data.get("namespace") or workflow_namespace)
    return Placed(index, node, spec, name, namespace)


def _unique_objects(placed: tuple[Placed, ...], problems: list[FieldError]) -> None:
    seen: dict[tuple[str, str | None, str], Placed] = {}
    for item in placed:
        key = (item.spec.kind, item.namespace, item.name)
        other = seen.setdefault(key, item)
        if other is item:
            continue
        where = f" in namespace {item.namespace!r}" if item.namespace else ""
        problems.append(
            FieldError(
                f"{item.path}.name",
                f"nodes[{other.index}] is also a {item.spec.kind} named {item.name!r}{where}; "
                "give each its own name",
            )
        )


def _edges_within_namespaces(
    canvas: Canvas, request: RenderRequest, by_id: Mapping[str, Placed], problems: list[FieldError]
) -> None:
    index_of = {edge.id: index for index, edge in reversed(list(enumerate(request.canvas.edges)))}
    for edge in canvas.edges:
        source, target = by_id.get(edge.source), by_id.get(edge.target)
        if source is None or target is None or source.namespace == target.namespace:
            continue
        if source.spec.kind == "NetworkPolicy" and edge.source_handle not in (None, OUTPUT_HANDLE):
            continue  # a rule peer may live in another namespace (selected by namespaceSelector)
        if is_dependency(source.spec.kind, target.spec.kind):
            continue  # a start order, not a reference: it holds across namespaces
        problems.append(
            FieldError(
                f"edges[{index_of.get(edge.id, 0)}]",
                f"{source.spec.kind} {source.name!r} goes in namespace {source.namespace!r} but "
                f"{target.spec.kind} {target.name!r} in {target.namespace!r}; Kubernetes only connects them "
                "within one namespace",
            )
        )


def _ingress_routes(item: Placed, problems: list[FieldError]) -> None:
    if item.spec.kind != "Ingress":
        return
    paths = item.node.data.get("paths") or []
    if not any(isinstance(p, Mapping) and p.get("serviceName") and p.get("servicePort") for p in paths):
        problems.append(
            FieldError(
                f"{item.path}.paths",
                "an Ingress needs at least one path routed to a Service: connect it to a Service",
            )
        )


def _claim_mounts(item: Placed, problems: list[FieldError]) -> None:
    if item.spec.kind != "StatefulSet":
        return
    used = {
        m.get("mountPath"): index
        for index, m in reversed(list(enumerate(item.node.data.get("volumeMounts") or [])))
        if isinstance(m, Mapping)
    }
    names: dict[str, int] = {}
    for index, claim in enumerate(item.node.data.get("volumeClaimTemplates") or []):
        name = str(claim.get("name"))
        if names.setdefault(name, index) != index:
            problems.append(
                FieldError(
                    f"{item.path}.volumeClaimTemplates[{index}].name",
                    f"volumeClaimTemplates[{names[name]}] is also named {name!r}; give each claim its own "
                    "name",
                )
            )
            continue
        where = f"{CLAIM_MOUNT_ROOT}/{name}"
        if where in used:
            problems.append(
                FieldError(
                    f"{item.path}.volumeClaimTemplates[{index}].name",
                    f"the claim is mounted at {where}, which volumeMounts[{used[where]}] also uses; rename "
                    "the claim or move that mount",
                )
            )


def _ip_blocks(item: Placed, problems: list[FieldError]) -> None:
    if item.spec.kind != "NetworkPolicy":
        return
    for key, peers_key in (("ingressRules", "from"), ("egressRules", "to")):
        for r, rule in enumerate(item.node.data.get(key) or []):
            for p, peer in enumerate(rule.get(peers_key) or []):
                block = peer.get("ipBlock") or {}
                if peer.get("type") == "ipBlock" and not block.get("cidr"):
                    problems.append(
                        FieldError(
                            f"{item.path}.{key}[{r}].{peers_key}[{p}].ipBlock.cidr",
                            "an ipBlock peer needs a cidr, e.g. 10.0.0.0/16",
                        )
                    )
