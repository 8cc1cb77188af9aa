"""One place maps failures to GraphQL errors with a stable ``extensions.code``.

Domain errors keep their message and code; a GraphQL document or variable that does not validate is
``BAD_INPUT``; anything else is masked as ``INTERNAL`` with a request id and logged with its stack.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLError

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


def classify(error: GraphQLError, request_id: str) -> tuple[str, dict[str, Any]]:
    """The message and extensions a client sees for ``error``; unexpected failures are logged here."""
    original = error.original_error
    if isinstance(original, errors.TrellisError):
        return original.message, original.extensions()
    if isinstance(original, GraphQLError) and (original.extensions or {}).get("code"):
        return original.message, dict(original.extensions or {})
    if original is None or error.path is None:
        # Not raised by a resolver: the document, its variables or a limit refused the request.
        code = (error.extensions or {}).get("code")
        known = code if code in errors.ERROR_CODES else ErrorCode.BAD_INPUT.value
        return error.message, {**(error.extensions or {}), "code": known}
    log.error(
        "unexpected error (request %s) at %s",
        request_id,
        error.path,
        exc_info=(type(original), original, original.__traceback__),
    )
    return (
        f"Internal error; quote request id {request_id} when reporting it",
        {"code": ErrorCode.INTERNAL.value, "requestId": request_id},
    )


def apply_code(error: GraphQLError, request_id: str) -> None:
    """Give ``error`` its stable code (and mask it when unexpected), in place; applying twice is harmless.

    The schema calls this for every error of every operation, subscriptions included, so each result a
    client sees carries ``extensions.code``."""
    if (error.extensions or {}).get("code") in errors.ERROR_CODES and not isinstance(
        error.original_error, errors.TrellisError
    ):
        return
    message, extensions = classify(error, request_id)
    error.message = message
    error.extensions = extensions
    error.args = (message,)
