"""Save-time checks of FLOW canvases: kinds, fields, ports, one Start, reachability, acyclicity, branches,
expressions that read only upstream steps; and flow kinds refused in a topology."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.flows import FLOW_KINDS, check_flow, flow_kinds_in
from app.domain.workflows import Canvas, Edge, Node, Position


def n(node_id: str, kind: str, **data: Any) -> Node:
    return Node(node_id, kind, Position(0, 0), data)


def e(source: str, target: str, source_handle: str | None = None, target_handle: str | None = None) -> Edge:
    return Edge(f"{source}-{target}-{source_handle or ''}", source, target, source_handle, target_handle)


def fn(node_id: str, **data: Any) -> Node:
    return n(node_id, "Function", runtime="python", code="def main(x):\n    return x\n", **data)


def linear() -> Canvas:
    return Canvas(
        (
            n("start", "Start"),
            fn("fetch"),
            fn("shape", inputMapping={"ids": "steps.fetch.output.ids"}),
            n("end", "End"),
        ),
        (e("start", "fetch"), e("fetch", "shape"), e("shape", "end")),
    )


def errors_of(canvas: Canvas) -> dict[str, str]:
    return {p.path: p.message for p in check_flow(canvas).errors}


def test_a_linear_flow_is_valid_and_its_edges_get_explicit_ports() -> None:
    result = check_flow(linear())
    assert result.ok, result.errors
    assert result.warnings == ()
    assert [(x.source_handle, x.target_handle) for x in result.canvas.edges] == [("output", "input")] * 3
    assert check_flow(result.canvas).canvas == result.canvas  # idempotent


def test_field_values_are_sanitised_with_errors_at_their_paths() -> None:
    canvas = Canvas(
        (
            n("start", "Start"),
            n(
                "f",
                "Function",
                runtime="PYTHON",
                code="x",
                timeoutSeconds="30",
                retry={"attempts": 0, "on": ["oom"]},
                resources={"memory": "lots"},
                colour="red",
            ),
        ),
        (e("start", "f"),),
    )
    result = check_flow(canvas)
    errors = {p.path for p in result.errors}
    assert errors == {"nodes[1].data.retry.attempts", "nodes[1].data.resources.memory"}
    assert "nodes[1].data.colour" in {p.path for p in result.warnings}
    assert result.canvas.nodes[1].data["runtime"] == "python"
    assert result.canvas.nodes[1].data["timeoutSeconds"] == 30
    assert result.canvas.nodes[1].data["retry"]["on"] == ["OOM"]


def test_exactly_one_start_is_needed_except_on_an_empty_canvas() -> None:
    assert check_flow(Canvas()).ok
    assert "Start" in errors_of(Canvas((fn("f"),)))["nodes"]
    two = Canvas((n("a", "Start"), n("b", "Start")))
    assert errors_of(two) == {"nodes[1].kind": "a flow has exactly one Start; nodes[0] is already one"}


def test_every_step_must_be_reachable_from_the_start() -> None:
    canvas = Canvas((n("start", "Start"), fn("a"), fn("lost")), (e("start", "a"),))
    assert "cannot be reached from the Start 'start'" in errors_of(canvas)["nodes[2]"]


def test_a_cycle_is_named() -> None:
    canvas = Canvas(
        (n("start", "Start"), fn("a"), n("m", "Merge"), fn("b")),
        (e("start", "m"), e("m", "a"), e("a", "b"), e("b", "m")),
    )
    assert errors_of(canvas) == {"edges[1]": "the edges form a cycle (a → b → m → a); a flow must be acyclic"}


@pytest.mark.parametrize(
    ("edge", "path", "needle"),
    [
        (
            e("start", "f", "nope"),
            "edges[0].sourceHandle",
            "Start has no out-port 'nope'; its out-ports: output",
        ),
        (e("start", "f", None, "side"), "edges[0].targetHandle", "Function has no in-port 'side'"),
        (e("f", "start"), "edges[0].targetHandle", "has no in-port: nothing runs before it"),
        (e("start", "ghost"), "edges[0].target", "no node has the id 'ghost'"),
    ],
)
def test_ports_must_exist_on_their_kinds(edge: Edge, path: str, needle: str) -> None:
    errors = errors_of(Canvas((n("start", "Start"), fn("f")), (edge,)))
    assert needle in errors[path], errors


def test_an_end_has_no_out_port_and_a_condition_needs_a_named_branch() -> None:
    canvas = Canvas(
        (n("start", "Start"), n("if", "Condition", expression="input.ok"), n("end", "End"), fn("f")),
        (e("start", "if"), e("if", "end"), e("end", "f")),
    )
    errors = errors_of(canvas)
    assert "several out-ports; name one of true, false" in errors["edges[1].sourceHandle"]
    assert "End 'end' has no out-port" in errors["edges[2].sourceHandle"]


def test_a_missing_condition_branch_is_a_warning() -> None:
    canvas = Canvas(
        (n("start", "Start"), n("if", "Condition", expression="input.ok"), n("end", "End")),
        (e("start", "if"), e("if", "end", "true")),
    )
    result = check_flow(canvas)
    assert result.ok
    assert [(p.path, "false branch" in p.message) for p in result.warnings] == [("nodes[1]", True)]


def test_a_step_takes_one_input_but_merge_and_end_take_many() -> None:
    nodes = (n("start", "Start"), fn("a"), fn("b"), fn("c"), n("m", "Merge", mode="any"), n("end", "End"))
    joined = Canvas(
        nodes, (e("start", "a"), e("start", "b"), e("a", "m"), e("b", "m"), e("m", "c"), e("c", "end"))
    )
    result = check_flow(joined)
    assert result.ok, result.errors
    assert result.canvas.nodes[4].data == {"mode": "ANY"}
    unjoined = Canvas(nodes, (e("start", "a"), e("start", "b"), e("a", "c"), e("b", "c")))
    assert "join branches with a Merge" in errors_of(unjoined)["edges[3].target"]


def test_mappings_compile_and_read_only_upstream_steps() -> None:
    canvas = Canvas(
        (
            n("start", "Start"),
            fn("a"),
            fn("b"),
            fn(
                "c",
                inputMapping={
                    "ok": "steps.a.output.items[0]",
                    "trigger": "steps.start.output",
                    "sibling": "steps.b.output",
                    "ghost": "steps.ghost.output",
                    "broken": "steps.a.(",
                    "other": "env.HOME",
                    "all": "steps.*.output",
                    "fn": "nope(input)",
                },
            ),
        ),
        (e("start", "a"), e("start", "b"), e("a", "c")),
    )
    errors = errors_of(canvas)
    base = "nodes[3].data.inputMapping"
    assert f"{base}.ok" not in errors and f"{base}.trigger" not in errors
    assert "not upstream of this step" in errors[f"{base}.sibling"]
    assert "no node has that id" in errors[f"{base}.ghost"]
    assert "not a valid JMESPath expression" in errors[f"{base}.broken"]
    assert "'env', which is not in scope" in errors[f"{base}.other"]
    assert "`steps` must be followed by a step id" in errors[f"{base}.all"]
    assert errors[f"{base}.fn"] == "calls unknown JMESPath function nope()"


def test_condition_expressions_and_http_templates_are_compiled() -> None:
    canvas = Canvas(
        (
            n("start", "Start"),
            n("if", "Condition", expression="length(input) >"),
            n(
                "call",
                "HttpRequest",
                urlTemplate="https://api.example.com/{{ steps.start.output.id }}/{{ steps.later.output }}",
                expectedStatus=["2xx", "404", "abc"],
            ),
            fn("later"),
        ),
        (e("start", "if"), e("if", "call", "true"), e("call", "later")),
    )
    errors = errors_of(canvas)
    assert "not a valid JMESPath expression" in errors["nodes[1].data.expression"]
    assert "'later', which is not upstream" in errors["nodes[2].data.urlTemplate"]
    assert "status code (200) or a class (2xx)" in errors["nodes[2].data.expectedStatus[2]"]


def test_kubernetes_kinds_are_refused_in_a_flow_and_flow_kinds_in_a_topology() -> None:
    errors = errors_of(
        Canvas((n("start", "Start"), n("web", "Deployment", image="nginx")), (e("start", "web"),))
    )
    assert (
        "Deployment is a Kubernetes resource; a FLOW workflow holds flow steps only"
        in errors["nodes[1].kind"]
    )
    assert (
        "unknown flow node kind 'Gizmo'"
        in errors_of(Canvas((n("start", "Start"), n("g", "Gizmo"))))["nodes[1].kind"]
    )
    problems = flow_kinds_in(Canvas((n("web", "Deployment"), n("f", "Function"))))
    assert [(p.path, "is a flow step" in p.message) for p in problems] == [("nodes[1].kind", True)]


def test_what_a_flow_still_lacks_is_a_warning_at_save_and_an_error_when_strict() -> None:
    canvas = Canvas(
        (n("start", "Start"), n("f", "Function"), n("if", "Condition")),
        (e("start", "f"), e("f", "if")),
    )
    lax = check_flow(canvas)
    assert lax.ok
    lacking = {"nodes[1].data.code", "nodes[2].data.expression"}
    assert lacking <= {p.path for p in lax.warnings}
    assert lacking <= {p.path for p in check_flow(canvas, strict=True).errors}


def test_code_and_file_are_exclusive() -> None:
    errors = errors_of(Canvas((n("start", "Start"), fn("f", fileId="file-1")), (e("start", "f"),)))
    assert errors == {"nodes[1].data.fileId": "give either code or fileId, not both"}


def test_every_kind_declares_its_ports() -> None:
    ports = {k: ([p.name for p in s.in_ports], [p.name for p in s.out_ports]) for k, s in FLOW_KINDS.items()}
    assert ports == {
        "Start": ([], ["output"]),
        "End": (["input"], []),
        "Function": (["input"], ["output", "error"]),
        "HttpRequest": (["input"], ["output", "error"]),
        "Condition": (["input"], ["true", "false"]),
        "Merge": (["input"], ["output"]),
        "AiAgent": (["input"], ["output", "error"]),
    }
