"""The flow scheduler: from a flow's canvas and its steps' states so far, what happens next. Pure, no I/O.

An edge leaves an out-port of its source. Once the source is settled the edge is *taken* (the source
completed and went on through that port: ``output``, a Condition's ``true``/``false``, or ``error`` for a
failed step whose error port is connected) or *dead* (any other port, or a source SKIPPED, CANCELLED or
FAILED). While the source is not settled the edge is *open*.

A PENDING step with in-edges is

- **ready** when every in-edge is settled and at least one is taken (a Merge in ``ALL`` mode, an End, any
  single-input step); a Merge in ``ANY`` mode as soon as one in-edge is taken;
- **skipped** when every in-edge is dead (the branch a Condition did not take, and everything reachable only
  through it; a Merge ALL whose inputs were all skipped). A Merge ALL with some inputs skipped runs with the
  ones taken.

The Start is ready at once. A failed step whose ``error`` port is connected does not fail the run; any other
failure does: no further step starts (the pending ones end CANCELLED), and the run ends FAILED once nothing
is running. The run is finished when every step is settled.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.domain.flows.kinds import FLOW_KINDS
from app.domain.graphs import topological_order
from app.domain.runs import NodeRunStatus, RunStatus
from app.domain.workflows import Canvas

ERROR_PORT = "error"
RETRYABLE = frozenset({"ERROR", "TIMEOUT", "OOM"})
"""Failure kinds a retry policy may name; REFUSED (egress guard, bad request) and CANCELLED never retry."""


@dataclass(frozen=True, slots=True)
class FlowEdge:
    """An edge with both handles filled in (the flow check stores them so)."""

    source: str
    port: str
    target: str


@dataclass(frozen=True, slots=True)
class FlowStep:
    """A step: its node id, kind and sanitised fields."""

    id: str
    kind: str
    data: Mapping[str, Any]

    @property
    def merge_any(self) -> bool:
        return self.kind == "Merge" and self.data.get("mode", "ALL") == "ANY"


@dataclass(frozen=True, slots=True)
class FlowGraph:
    """A flow canvas as the scheduler reads it: steps in topological order (ties in canvas order), in- and
    out-edges per step."""

    steps: Mapping[str, FlowStep]
    incoming: Mapping[str, tuple[FlowEdge, ...]]
    outgoing: Mapping[str, tuple[FlowEdge, ...]]
    rank: Mapping[str, int] = field(default_factory=dict)  # a step's place in the topological order

    @classmethod
    def of(cls, canvas: Canvas) -> FlowGraph:
        ids = [node.id for node in canvas.nodes]
        order = topological_order(ids, [(e.source, e.target) for e in canvas.edges if e.source in ids])
        by_id = {node.id: node for node in canvas.nodes}
        steps = {sid: FlowStep(sid, by_id[sid].kind, dict(by_id[sid].data)) for sid in order}
        incoming: dict[str, list[FlowEdge]] = defaultdict(list)
        outgoing: dict[str, list[FlowEdge]] = defaultdict(list)
        for edge in canvas.edges:
            spec = FLOW_KINDS.get(steps[edge.source].kind) if edge.source in steps else None
            port = edge.source_handle or (spec.default_out if spec else None) or "output"
            flow_edge = FlowEdge(edge.source, port, edge.target)
            incoming[edge.target].append(flow_edge)
            outgoing[edge.source].append(flow_edge)
        return cls(
            steps,
            {step: tuple(incoming.get(step, ())) for step in steps},
            {step: tuple(outgoing.get(step, ())) for step in steps},
            {step: index for index, step in enumerate(steps)},
        )

    def handles_errors(self, step_id: str) -> bool:
        """Whether ``step_id``'s error port is connected (its failure then does not fail the run)."""
        return any(edge.port == ERROR_PORT for edge in self.outgoing.get(step_id, ()))


@dataclass(frozen=True, slots=True)
class StepView:
    """What the scheduler needs of a step's state: its status, the port it went on through, its output
    and ``order``, the sequence number of its settling (a Merge ANY takes its earliest input)."""

    status: NodeRunStatus = NodeRunStatus.PENDING
    port: str | None = None
    output: Any = None
    order: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do next: start ``ready`` (in the graph's order), mark ``skipped``; ``cancel`` the pending steps
    when the run has failed; ``finished`` is the run's final status once nothing is left to do."""

    ready: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    cancel: tuple[str, ...] = ()
    finished: RunStatus | None = None
    failed_step: str | None = None


_ACTIVE = (NodeRunStatus.QUEUED, NodeRunStatus.RUNNING, NodeRunStatus.RETRYING)


def _edge_state(edge: FlowEdge, states: Mapping[str, StepView]) -> bool | None:
    """True: taken; False: dead; None: open."""
    source = states.get(edge.source, StepView())
    if not source.status.settled:
        return None
    return source.port == edge.port


def decide(
    graph: FlowGraph,
    states: Mapping[str, StepView],
    *,
    cancelled: bool = False,
    changed: Iterable[str] | None = None,
) -> Decision:
    """The next moves of a run whose steps stand at ``states`` (a step missing is PENDING).

    ``changed``: the steps whose state changed since the previous call (``None``: look at every step).
    Only they and the steps after them can become ready or skipped, so the engine passes them and a call
    costs what changed, not the size of the flow (bar one cheap pass over the states). A skip settles the
    in-edges of the steps after it in the same call. ``cancelled``: the run was asked to stop; nothing new
    starts and pending steps are cancelled.
    """
    view = dict(states)
    failed: str | None = None
    active = False
    pending = len(graph.steps) - sum(1 for sid in view if sid in graph.steps)  # missing: PENDING
    for sid, state in view.items():
        status = state.status
        if status is NodeRunStatus.FAILED and state.port != ERROR_PORT and failed is None:
            failed = sid
        elif status in _ACTIVE:
            active = True
        elif status is NodeRunStatus.PENDING:
            pending += 1
    if failed is not None or cancelled:
        stopped = tuple(
            sid for sid in graph.steps if view.get(sid, StepView()).status is NodeRunStatus.PENDING
        )
        end = RunStatus.CANCELLED if cancelled else RunStatus.FAILED
        return Decision(cancel=stopped, finished=None if active else end, failed_step=failed)
    if changed is None:
        candidates = list(graph.steps)
    else:
        candidates = list(
            dict.fromkeys(
                target
                for sid in changed
                for target in (sid, *(e.target for e in graph.outgoing.get(sid, ())))
            )
        )
    ready: list[str] = []
    skipped: list[str] = []
    seen_ids: set[str] = set()
    while candidates:  # a skip adds the steps after it
        sid = candidates.pop(0)
        if sid in seen_ids or sid not in graph.steps:
            continue
        seen_ids.add(sid)
        if view.get(sid, StepView()).status is not NodeRunStatus.PENDING:
            continue
        edges = graph.incoming[sid]
        seen = [_edge_state(edge, view) for edge in edges]
        if edges and all(state is False for state in seen):
            skipped.append(sid)
            view[sid] = StepView(NodeRunStatus.SKIPPED)
            candidates.extend(edge.target for edge in graph.outgoing[sid])
            seen_ids.difference_update(edge.target for edge in graph.outgoing[sid])
            continue
        if not edges or (
            any(state is True for state in seen) and (graph.steps[sid].merge_any or None not in seen)
        ):
            ready.append(sid)
    left = active or pending > len(skipped)  # ready and waiting steps are still PENDING
    rank = graph.rank
    return Decision(
        tuple(sorted(ready, key=rank.__getitem__)),
        tuple(sorted(skipped, key=rank.__getitem__)),
        finished=None if left else RunStatus.COMPLETED,
    )


def input_of(graph: FlowGraph, step_id: str, states: Mapping[str, StepView]) -> Any:
    """What arrives on ``step_id``'s in-port: the output of the one taken in-edge; for a Merge ALL or an
    End reached by several taken edges ``{<nodeId>: output}``; for a Merge ANY the earliest one's output.
    A step with no in-edges (the Start) gets ``None`` (the engine gives it the trigger data)."""
    taken = [edge for edge in graph.incoming.get(step_id, ()) if _edge_state(edge, states) is True]
    if not taken:
        return None
    step = graph.steps[step_id]
    if step.merge_any:
        first = min(taken, key=lambda edge: (states[edge.source].order, edge.source))
        return states[first.source].output
    if step.kind == "Merge" or len(taken) > 1:
        return {edge.source: states[edge.source].output for edge in taken}
    return states[taken[0].source].output


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed attempt is tried again: ``attempts`` in all, ``backoff_seconds`` before the second,
    doubled after each, only for the failure kinds in ``on``."""

    attempts: int = 1
    backoff_seconds: float = 0.0
    on: frozenset[str] = field(default_factory=lambda: frozenset({"ERROR", "TIMEOUT"}))

    @classmethod
    def of(cls, step: FlowStep) -> RetryPolicy:
        """The policy of a step's ``retry`` field (no retry when it has none)."""
        retry = step.data.get("retry")
        if not isinstance(retry, Mapping):
            return cls()
        on = retry.get("on")
        return cls(
            attempts=max(1, int(retry.get("attempts", 1))),
            backoff_seconds=max(0.0, float(retry.get("backoffSeconds", 10))),
            on=frozenset(on) & RETRYABLE if isinstance(on, list | tuple) else frozenset({"ERROR", "TIMEOUT"}),
        )

    def delay(self, attempt: int, error_kind: str) -> float | None:
        """Seconds to wait before attempt ``attempt + 1`` after attempt ``attempt`` failed with
        ``error_kind``; ``None``: no further attempt (the step fails)."""
        if attempt >= self.attempts or error_kind not in self.on:
            return None
        return float(self.backoff_seconds * 2 ** (attempt - 1))
