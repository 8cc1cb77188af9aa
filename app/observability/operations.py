"""A Strawberry extension that counts GraphQL operations by name, type and outcome, times queries and
mutations, and keeps the gauge of open subscriptions (``Metrics`` holds the series)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from app.observability.metrics import Metrics


def operation_metrics(metrics: Metrics) -> Callable[[], SchemaExtension]:
    """The extension factory to pass to ``strawberry.Schema(extensions=[...])``."""
    return lambda: OperationMetrics(metrics)


class OperationMetrics(SchemaExtension):
    """One instance per operation. A subscription counts as open from the start of its execution until
    its stream ends (the client completes it, disconnects, or the server closes it)."""

    def __init__(self, metrics: Metrics, *, execution_context: ExecutionContext | None = None) -> None:
        self._metrics = metrics
        self._close_subscription: Callable[[], None] | None = None
        if execution_context is not None:
            self.execution_context = execution_context

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        raised = False
        try:
            yield
        except (GeneratorExit, asyncio.CancelledError):
            raise  # the client went away (a subscription ends so) or the server stops: not a failure
        except BaseException:
            raised = True
            raise
        finally:
            context = self.execution_context
            kind = _operation_type(context)
            seconds = None if kind == OperationType.SUBSCRIPTION.value else time.perf_counter() - started
            ok = not raised and _succeeded(context)
            self._metrics.operation_finished(context.operation_name, kind, ok=ok, seconds=seconds)
            if self._close_subscription is not None:
                self._close_subscription()
                self._close_subscription = None

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if _operation_type(context) == OperationType.SUBSCRIPTION.value and self._close_subscription is None:
            self._close_subscription = self._metrics.subscription_opened(context.operation_name)
        yield


def _operation_type(context: ExecutionContext) -> str:
    """``query``, ``mutation``, ``subscription``, or ``unknown`` (a document that did not parse, or that
    has no operation of the name asked for)."""
    try:
        return context.operation_type.value
    except Exception:  # no document, or no such operation: the operation failed before execution
        return "unknown"


def _succeeded(context: ExecutionContext) -> bool:
    if context.pre_execution_errors:
        return False
    result = context.result
    return not (result is not None and result.errors)
