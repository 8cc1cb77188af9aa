"""What the flow engine hands a step executor (:class:`StepInvocation`) and what it gets back
(:class:`StepResult`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.domain.flows.scheduler import FlowStep

ERROR = "ERROR"  # the step ran and failed (an exception, an unexpected status, a falsy expression error)
TIMEOUT = "TIMEOUT"  # the attempt took longer than the step's timeoutSeconds
OOM = "OOM"  # the attempt ran out of memory
REFUSED = "REFUSED"  # refused before running (egress guard, a template that does not evaluate): no retry
CANCELLED = "CANCELLED"  # the run was cancelled while the attempt ran

STEP_OUTPUT_PATH = "/v1/steps/output"
DATA_PATH = "/v1/data"
"""The base of the data collections' routes a step reaches with its step token (on the public URL)."""
"""Where a Function step's pod POSTs an output too large for its termination message (on the public URL)."""

TIMEOUT_GRACE_SECONDS = 120.0
"""How long past a step's ``timeoutSeconds`` the engine waits for an executor that enforces the timeout
itself (a Job's ``activeDeadlineSeconds``, which also counts pulling the image) before it gives up."""

LogLine = Callable[..., Awaitable[None]]
"""``await log(message, level="INFO")``: a line in the step's log."""


async def _ignore(*_line: Any, **_level: Any) -> None:
    return None


def _never() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class StepInvocation:
    """One attempt of one step.

    ``input`` is what arrived on the step's in-port (for the Start: the run's trigger data); ``scope`` the
    object its expressions read, ``{steps: {<nodeId>: {output}}, input}`` (the outputs of every step
    completed so far). ``log`` adds a line to the step's log. ``cluster_id`` and ``namespace`` are where
    the flow's pods run (its workflow's); ``deadline`` when the attempt must be over (``started_at`` +
    its timeout). ``run_cancelled()`` tells a cancelled call whether the run was cancelled (clean up
    what the attempt started) or the server is stopping (leave it running, to be followed again).
    """

    run_id: str
    workspace_id: str
    step: FlowStep
    attempt: int
    input: Any
    scope: Mapping[str, Any]
    timeout_seconds: float
    log: LogLine = field(default=_ignore)
    cluster_id: str = ""
    namespace: str = ""
    workflow_id: str = ""  # the flow (annotations on what the attempt creates)
    started_at: datetime | None = None
    run_cancelled: Callable[[], bool] = field(default=_never)

    @property
    def deadline(self) -> datetime | None:
        if self.started_at is None or not self.timeout_seconds:
            return None
        return self.started_at + timedelta(seconds=self.timeout_seconds)


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
