"""Workspace secrets for one attempt of a step: revealed through the :class:`~app.ports.WorkspaceSecretReader`
just before the step runs, or the step's failure saying which secret is missing (never a value); and the
step's log and result with the revealed values masked, and so is every log record made while they are in use
(:func:`masking_logs`: a library logging a request's URL or a response's headers at DEBUG)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from app import errors
from app.domain.flows.steps import ERROR, REFUSED, StepInvocation, StepResult
from app.domain.workspace_secrets import mask, mask_json
from app.ports import WorkspaceSecretReader


def listed_secrets(invocation: StepInvocation) -> tuple[str, ...]:
    """The names in a Function step's ``secrets`` field, each once."""
    listed = invocation.step.data.get("secrets")
    return tuple(dict.fromkeys(str(name) for name in listed)) if isinstance(listed, list | tuple) else ()


async def reveal(
    reader: WorkspaceSecretReader | None, invocation: StepInvocation, names: Sequence[str]
) -> dict[str, str] | StepResult:
    """The values of ``names`` in the run's workspace, or a failed :class:`StepResult` (stage ``start``):
    REFUSED naming a missing secret, ERROR when they cannot be read now."""
    if not names:
        return {}
    if reader is None:
        return StepResult.failed(REFUSED, "start", "workspace secrets cannot be read by this step executor")
    try:
        return await reader.reveal(invocation.workspace_id, names)
    except errors.NotFound as exc:
        return StepResult.failed(
            REFUSED,
            "start",
            f"the workspace has no secret {exc.ident}: set it (setSecret) or stop the step reading it",
        )
    except errors.TrellisError as exc:
        return StepResult.failed(ERROR, "start", f"the workspace's secrets cannot be read: {exc.message}")


def masked(invocation: StepInvocation, values: Mapping[str, str]) -> StepInvocation:
    """``invocation`` whose log lines show :data:`~app.domain.workspace_secrets.MASK` for the values."""
    if not values:
        return invocation
    secrets = tuple(values.values())
    log = invocation.log

    async def masked_log(message: str, *args: Any, **kwargs: Any) -> None:
        await log(mask(str(message), secrets), *args, **kwargs)

    return replace(invocation, log=masked_log)


def masked_result(result: StepResult, values: Mapping[str, str]) -> StepResult:
    """``result`` with the values masked in its output and message."""
    if not values:
        return result
    secrets = tuple(values.values())
    return replace(
        result,
        output=mask_json(result.output, secrets),
        message=None if result.message is None else mask(result.message, secrets),
    )


_REVEALED: ContextVar[tuple[str, ...]] = ContextVar("trellis_revealed_secrets", default=())
_INSTALL = threading.Lock()
_installed = False


def _install_record_masking() -> None:
    """Wrap the log record factory (once per process): a record made in a context that holds revealed
    values (see :func:`masking_logs`) gets its message and traceback text masked when it is made."""
    global _installed
    with _INSTALL:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            values = _REVEALED.get()
            if values:
                record.msg, record.args = mask(record.getMessage(), values), None
                if record.exc_info:
                    text = logging.Formatter().formatException(record.exc_info)
                    record.exc_text = mask(text, values)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


@contextmanager
def masking_logs(values: Iterable[str]) -> Iterator[None]:
    """While inside (and in the tasks started inside), log records show ``***`` for ``values``."""
    secrets = tuple(v for v in values if v)
    if not secrets:
        yield
        return
    _install_record_masking()
    token = _REVEALED.set(_REVEALED.get() + secrets)
    try:
        yield
    finally:
        _REVEALED.reset(token)
