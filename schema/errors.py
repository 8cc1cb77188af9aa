"""One place maps failures to GraphQL errors with a stable ``extensions.code``.

Domain errors keep their message and code; a GraphQL document or variable that does not validate is
``BAD_INPUT``; anything else is masked as ``INTERNAL`` with a request id and logged with its stack.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from app import errors

log = logging.getLogger("trellis.graphql")


@strawberry.enum(description="The stable code in every error's `extensions.code`.")
class ErrorCode(Enum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_INPUT = "BAD_INPUT"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"


assert {code.value for code in ErrorCode} == set(errors.ERROR_CODES)


def map_error(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if isinstance(original, errors.TrellisError):
        return _copy(error, original.message, original.extensions())
    if original is None or error.path is None:
        # Not raised by a resolver: the document, its variables or a limit refused the request.
        code = (error.extensions or {}).get("code")
        known = code if code in errors.ERROR_CODES else ErrorCode.BAD_INPUT.value
        return _copy(error, error.message, {**(error.extensions or {}), "code": known})
    log.error(
        "unexpected error (request %s) at %s",
        request_id,
        error.path,
        exc_info=(type(original), original, original.__traceback__),
    )
    return _copy(
        error,
        f"Internal error; quote request id {request_id} when reporting it",
        {"code": ErrorCode.INTERNAL.value, "requestId": request_id},
    )


def _copy(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    """Rewrites every error of the result (validation and execution alike) through ``map_error``."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not getattr(result, "errors", None):
            return
        context = self.execution_context.context
        request_id = getattr(context, "request_id", "-")
        result.errors = [map_error(error, request_id) for error in result.errors or []]
