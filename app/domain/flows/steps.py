"""What the flow engine hands a step executor (:class:`StepInvocation`) and what it gets back
(:class:`StepResult`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.domain.flows.scheduler import FlowStep

ERROR = "ERROR"  # the step ran and failed (an exception, an unexpected status, a falsy expression error)
TIMEOUT = "TIMEOUT"  # the attempt took longer than the step's timeoutSeconds
OOM = "OOM"  # the attempt ran out of memory
REFUSED = "REFUSED"  # refused before running (egress guard, a template that does not evaluate): no retry
CANCELLED = "CANCELLED"  # the run was cancelled while the attempt ran

LogLine = Callable[[str], Awaitable[None]]


async def _ignore(_line: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class StepInvocation:
    """One attempt of one step.

    ``input`` is what arrived on the step's in-port (for the Start: the run's trigger data); ``scope`` the
    object its expressions read, ``{steps: {<nodeId>: {output}}, input}`` (the outputs of every step
    completed so far). ``log`` adds a line to the run's log about this step.
    """

    run_id: str
    workspace_id: str
    step: FlowStep
    attempt: int
    input: Any
    scope: Mapping[str, Any]
    timeout_seconds: float
    log: LogLine = field(default=_ignore)


@dataclass(frozen=True, slots=True)
class StepResult:
    """The outcome of one attempt: ``output`` (JSON) and the out-port it leaves through (``None``: the
    kind's default), or an ``error_kind`` (ERROR, TIMEOUT, OOM, REFUSED) with ``stage`` and ``message``."""

    output: Any = None
    port: str | None = None
    error_kind: str | None = None
    stage: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    @classmethod
    def failed(cls, kind: str, stage: str, message: str) -> StepResult:
        return cls(error_kind=kind, stage=stage, message=message)
