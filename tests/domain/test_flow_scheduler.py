"""The pure flow scheduler: readiness, Merge ALL / ANY, Condition branches and skips, error ports, the run's
final status, and retry decisions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app.domain.flows.scheduler import FlowGraph, RetryPolicy, StepView, decide, input_of
from app.domain.runs import NodeRunStatus, RunStatus
from app.domain.workflows import Canvas, Edge, Node, Position

S = NodeRunStatus


def n(node_id: str, kind: str, **data: Any) -> Node:
    return Node(node_id, kind, Position(0, 0), data)


def e(source: str, target: str, port: str | None = None) -> Edge:
    return Edge(f"{source}-{target}-{port or ''}", source, target, port, "input")


Outcome = Callable[[str, Any], tuple[NodeRunStatus, str | None, Any]]


def ok(step: str, given: Any) -> tuple[NodeRunStatus, str | None, Any]:
    return S.COMPLETED, "output", {"from": step, "got": given}


def simulate(
    canvas: Canvas, outcome: Outcome = ok, *, wave_limit: int | None = None
) -> tuple[RunStatus, dict[str, StepView], list[list[str]]]:
    """Run the flow with the scheduler: each wave completes the ready steps with ``outcome``. Every call
    with the ``changed`` hint must decide exactly as a call looking at every step."""
    graph = FlowGraph.of(canvas)
    states: dict[str, StepView] = {}
    waves: list[list[str]] = []
    order = 0
    changed: list[str] | None = None
    for _ in range(len(canvas.nodes) + 2):
        decision = decide(graph, states)
        assert decide(graph, states, changed=changed) == decision
        for sid in decision.skipped:
            states[sid] = StepView(S.SKIPPED)
        for sid in decision.cancel:
            states[sid] = StepView(S.CANCELLED)
        if decision.finished is not None:
            return decision.finished, states, waves
        ready = list(decision.ready)[:wave_limit]
        waves.append(ready)
        changed = [*decision.skipped, *decision.cancel, *ready]
        for sid in ready:
            order += 1
            status, port, output = outcome(sid, input_of(graph, sid, states))
            states[sid] = StepView(status, port, output, order)
    raise AssertionError("the scheduler never finished")


def statuses(states: Mapping[str, StepView]) -> dict[str, str]:
    return {sid: view.status.value for sid, view in sorted(states.items())}


def test_a_linear_flow_runs_one_step_after_another_and_passes_outputs_along() -> None:
    canvas = Canvas(
        (n("start", "Start"), n("a", "HttpRequest"), n("b", "HttpRequest"), n("end", "End")),
        (e("start", "a"), e("a", "b"), e("b", "end")),
    )
    status, states, waves = simulate(canvas)
    assert status is RunStatus.COMPLETED
    assert waves == [["start"], ["a"], ["b"], ["end"]]
    assert states["b"].output == {"from": "b", "got": {"from": "a", "got": {"from": "start", "got": None}}}
    assert set(statuses(states).values()) == {"COMPLETED"}


def fan(mode: str) -> Canvas:
    return Canvas(
        (
            n("start", "Start"),
            n("a", "HttpRequest"),
            n("b", "HttpRequest"),
            n("c", "HttpRequest"),
            n("join", "Merge", mode=mode),
            n("end", "End"),
        ),
        (
            e("start", "a"),
            e("start", "b"),
            e("b", "c"),
            e("a", "join"),
            e("c", "join"),
            e("join", "end"),
        ),
    )


def test_fan_out_runs_branches_together_and_merge_all_waits_for_every_input() -> None:
    status, states, waves = simulate(fan("ALL"))
    assert status is RunStatus.COMPLETED
    assert waves == [["start"], ["a", "b"], ["c"], ["join"], ["end"]]
    joined = states["join"].output["got"]
    assert set(joined) == {"a", "c"}
    assert joined["a"]["from"] == "a"


def test_merge_any_goes_on_with_the_first_input_and_does_not_run_twice() -> None:
    status, states, waves = simulate(fan("ANY"))
    assert status is RunStatus.COMPLETED
    assert waves == [["start"], ["a", "b"], ["c", "join"], ["end"]]
    assert states["join"].output["got"]["from"] == "a"
    assert sum(wave.count("join") for wave in waves) == 1


def test_merge_any_takes_the_earliest_of_several_finished_inputs() -> None:
    graph = FlowGraph.of(fan("ANY"))
    states = {
        "start": StepView(S.COMPLETED, "output", {}, 1),
        "a": StepView(S.COMPLETED, "output", "late", 5),
        "b": StepView(S.COMPLETED, "output", {}, 2),
        "c": StepView(S.COMPLETED, "output", "early", 3),
    }
    assert decide(graph, states).ready == ("join",)
    assert input_of(graph, "join", states) == "early"


def branching(merge: str | None = None) -> Canvas:
    nodes = [
        n("start", "Start"),
        n("check", "Condition", expression="input.ok"),
        n("yes", "HttpRequest"),
        n("no", "HttpRequest"),
        n("no2", "HttpRequest"),
        n("end", "End"),
    ]
    edges = [e("start", "check"), e("check", "yes", "true"), e("check", "no", "false"), e("no", "no2")]
    if merge:
        nodes.append(n("join", "Merge", mode=merge))
        edges += [e("yes", "join"), e("no2", "join"), e("join", "end")]
    else:
        edges += [e("yes", "end"), e("no2", "end")]
    return Canvas(tuple(nodes), tuple(edges))


def routed(taken: str) -> Outcome:
    def outcome(step: str, given: Any) -> tuple[NodeRunStatus, str | None, Any]:
        if step == "check":
            return S.COMPLETED, taken, given
        return ok(step, given)

    return outcome


def test_a_condition_taking_true_skips_the_false_branch_and_everything_only_behind_it() -> None:
    status, states, _ = simulate(branching(), routed("true"))
    assert status is RunStatus.COMPLETED
    assert statuses(states) == {
        "check": "COMPLETED",
        "end": "COMPLETED",
        "no": "SKIPPED",
        "no2": "SKIPPED",
        "start": "COMPLETED",
        "yes": "COMPLETED",
    }
    assert states["end"].output["got"]["from"] == "yes"


def test_a_condition_taking_false_skips_the_true_branch() -> None:
    status, states, _ = simulate(branching(), routed("false"))
    assert status is RunStatus.COMPLETED
    assert states["yes"].status is S.SKIPPED
    assert states["no2"].status is S.COMPLETED
    assert states["end"].output["got"]["from"] == "no2"


def test_merge_all_after_a_condition_runs_with_the_branch_taken() -> None:
    status, states, _ = simulate(branching("ALL"), routed("false"))
    assert status is RunStatus.COMPLETED
    assert states["join"].status is S.COMPLETED
    assert states["join"].output["got"] == {"no2": states["no2"].output}


def test_merge_any_after_a_condition_runs_with_the_branch_taken() -> None:
    status, states, _ = simulate(branching("ANY"), routed("true"))
    assert status is RunStatus.COMPLETED
    assert states["join"].output["got"]["from"] == "yes"


def test_a_merge_whose_inputs_are_all_skipped_is_skipped_and_so_is_what_follows() -> None:
    canvas = Canvas(
        (
            n("start", "Start"),
            n("check", "Condition", expression="input.ok"),
            n("a", "HttpRequest"),
            n("b", "HttpRequest"),
            n("join", "Merge", mode="ANY"),
            n("after", "HttpRequest"),
        ),
        (
            e("start", "check"),
            e("check", "a", "true"),
            e("check", "b", "true"),
            e("a", "join"),
            e("b", "join"),
            e("join", "after"),
        ),
    )
    status, states, _ = simulate(canvas, routed("false"))
    assert status is RunStatus.COMPLETED
    assert {sid: states[sid].status for sid in ("a", "b", "join", "after")} == dict.fromkeys(
        ("a", "b", "join", "after"), S.SKIPPED
    )


def failing(step: str, *, port: str | None = None) -> Outcome:
    def outcome(sid: str, given: Any) -> tuple[NodeRunStatus, str | None, Any]:
        if sid == step:
            return S.FAILED, port, {"error": {"stage": "request", "message": "boom"}} if port else None
        return ok(sid, given)

    return outcome


def test_a_failed_step_fails_the_run_and_cancels_what_had_not_started() -> None:
    status, states, _ = simulate(fan("ALL"), failing("b"))
    assert status is RunStatus.FAILED
    assert states["b"].status is S.FAILED
    assert states["a"].status is S.COMPLETED  # it ran beside b
    assert {states[sid].status for sid in ("c", "join", "end")} == {S.CANCELLED}


def test_the_run_waits_for_running_steps_before_it_ends_failed() -> None:
    graph = FlowGraph.of(fan("ALL"))
    states = {
        "start": StepView(S.COMPLETED, "output", {}),
        "a": StepView(S.RUNNING),
        "b": StepView(S.FAILED),
    }
    decision = decide(graph, states)
    assert decision.ready == ()
    assert decision.finished is None
    assert decision.failed_step == "b"
    assert set(decision.cancel) == {"c", "join", "end"}
    states["a"] = StepView(S.COMPLETED, "output", {})
    assert decide(graph, states).finished is RunStatus.FAILED


def test_a_connected_error_port_takes_the_run_on_through_it() -> None:
    canvas = Canvas(
        (n("start", "Start"), n("call", "HttpRequest"), n("fine", "End"), n("handle", "HttpRequest")),
        (e("start", "call"), e("call", "fine"), e("call", "handle", "error")),
    )
    graph = FlowGraph.of(canvas)
    assert graph.handles_errors("call")
    assert not graph.handles_errors("start")
    status, states, _ = simulate(canvas, failing("call", port="error"))
    assert status is RunStatus.COMPLETED
    assert states["call"].status is S.FAILED
    assert states["fine"].status is S.SKIPPED
    assert states["handle"].output["got"] == {"error": {"stage": "request", "message": "boom"}}


def test_cancelling_stops_new_steps_and_ends_cancelled_once_nothing_runs() -> None:
    graph = FlowGraph.of(fan("ALL"))
    states = {"start": StepView(S.COMPLETED, "output", {}), "a": StepView(S.RUNNING)}
    decision = decide(graph, states, cancelled=True)
    assert decision.ready == ()
    assert decision.finished is None
    assert set(decision.cancel) == {"b", "c", "join", "end"}
    states["a"] = StepView(S.CANCELLED)
    assert decide(graph, states, cancelled=True).finished is RunStatus.CANCELLED


def test_an_empty_flow_is_finished_at_once() -> None:
    assert decide(FlowGraph.of(Canvas()), {}).finished is RunStatus.COMPLETED


def test_retry_policy_retries_the_named_failures_with_doubling_backoff_then_gives_up() -> None:
    step = FlowGraph.of(
        Canvas((n("f", "Function", retry={"attempts": 3, "backoffSeconds": 5, "on": ["ERROR"]}),))
    ).steps["f"]
    policy = RetryPolicy.of(step)
    assert policy.delay(1, "ERROR") == 5.0
    assert policy.delay(2, "ERROR") == 10.0
    assert policy.delay(3, "ERROR") is None  # the third attempt was the last
    assert policy.delay(1, "TIMEOUT") is None  # not named in `on`
    assert policy.delay(1, "REFUSED") is None


def test_a_step_without_a_retry_policy_is_tried_once() -> None:
    step = FlowGraph.of(Canvas((n("h", "HttpRequest"),))).steps["h"]
    assert RetryPolicy.of(step).delay(1, "ERROR") is None


def test_retry_then_fail_runs_through_the_scheduler() -> None:
    canvas = Canvas(
        (
            n("start", "Start"),
            n("f", "Function", retry={"attempts": 2, "backoffSeconds": 1}),
            n("end", "End"),
        ),
        (e("start", "f"), e("f", "end")),
    )
    graph = FlowGraph.of(canvas)
    policy = RetryPolicy.of(graph.steps["f"])
    attempts = 0
    states: dict[str, StepView] = {"start": StepView(S.COMPLETED, "output", {})}
    while (delay := policy.delay(attempts := attempts + 1, "ERROR")) is not None:
        states["f"] = StepView(S.RETRYING)
        assert decide(graph, states).finished is None
        assert delay == 1.0
    states["f"] = StepView(S.FAILED)
    assert attempts == 2
    decision = decide(graph, states)
    assert decision.finished is RunStatus.FAILED
    assert decision.cancel == ("end",)
