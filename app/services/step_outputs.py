"""Outputs posted back by Function steps (``POST /v1/steps/output``) when they are too large for the pod's
termination message.

The caller is the step's own pod, holding the step token issued for its attempt. The output is accepted
once, while that attempt runs (its run unfinished, the step RUNNING in that attempt), within the output
size limit, as JSON; the executor following the attempt reads it when the pod reports ``posted``.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from app import errors
from app.auth.step_tokens import StepClaims, StepTokenCodec
from app.auth.tokens import TokenError
from app.domain.runs import NodeRunStatus, StepOutputRecord
from app.domain.workspaces import Scope
from app.ports import Clock, RunStore, StepOutputStore
from app.services.auditing import Auditor


class StepOutputServiceStore(RunStore, StepOutputStore, Protocol):
    pass


def bearer_claims(tokens: StepTokenCodec, clock: Clock, authorization: str) -> StepClaims:
    """The attempt an ``Authorization: Bearer <step token>`` header names; ``Unauthenticated`` else."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthenticated("a step token is required (Authorization: Bearer …)")
    try:
        return tokens.verify(token.strip(), now=clock.now())
    except TokenError as exc:
        raise errors.Unauthenticated(exc.reason) from exc


async def require_running_attempt(store: RunStore, claims: StepClaims) -> None:
    """``Conflict`` unless the attempt ``claims`` names still runs (its run unfinished, the step RUNNING
    in that attempt)."""
    run = await store.get_run(Scope.of([claims.workspace_id]), claims.run_id)
    state = (
        next((s for s in run.node_states if s.node_id == claims.node_id), None) if run is not None else None
    )
    if (
        run is None
        or run.status.finished
        or state is None
        or state.status is not NodeRunStatus.RUNNING
        or state.step is None
        or state.step.attempt != claims.attempt
    ):
        raise errors.Conflict("the attempt this token was issued for is no longer running", {})


class OutputTooLarge(errors.Invalid):
    """The body is larger than the output limit."""


class StepOutputService:
    def __init__(
        self,
        *,
        store: StepOutputServiceStore,
        tokens: StepTokenCodec,
        clock: Clock,
        auditor: Auditor,
        max_output_bytes: int,
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._clock = clock
        self._auditor = auditor
        self.max_output_bytes = max_output_bytes

    def claims(self, authorization: str) -> StepClaims:
        """The attempt an ``Authorization: Bearer <step token>`` header names; ``Unauthenticated`` else."""
        return bearer_claims(self._tokens, self._clock, authorization)

    async def accept(self, claims: StepClaims, body: bytes) -> StepOutputRecord:
        """Keep ``body`` as the output of the attempt ``claims`` names (audited: the step's pod is the
        actor, so the entry has none; its detail names the step and attempt)."""
        async with self._auditor.action(
            "run.stepOutput",
            actor_id=None,
            target_type="run",
            target_id=claims.run_id,
            workspace_id=claims.workspace_id,
        ) as record:
            record.detail.update({"nodeId": claims.node_id, "attempt": str(claims.attempt)})
            return await self._accept(claims, body)

    async def _accept(self, claims: StepClaims, body: bytes) -> StepOutputRecord:
        if len(body) > self.max_output_bytes:
            raise OutputTooLarge.field(
                "body", f"the output is larger than the limit of {self.max_output_bytes} bytes"
            )
        try:
            output: Any = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise errors.Invalid.field("body", "the output is not JSON") from exc
        await require_running_attempt(self._store, claims)
        record = StepOutputRecord(
            run_id=claims.run_id,
            node_id=claims.node_id,
            attempt=claims.attempt,
            output=output,
            size=len(body),
            received_at=self._clock.now(),
        )
        await self._store.put_step_output(record)  # Conflict when the attempt posted one already
        return record
