"""The domain error tree.

Services raise these; the GraphQL edge maps each to a stable ``extensions.code``:

    TrellisError
    ├── Unauthenticated   UNAUTHENTICATED  no, expired, forged or revoked credentials
    ├── Forbidden         FORBIDDEN        authenticated, but the role does not allow it
    ├── NotFound          NOT_FOUND        missing, or belongs to a workspace the caller cannot see
    ├── Invalid           BAD_INPUT        the input is wrong; ``fields`` point into it
    ├── Conflict          CONFLICT         a concurrent or duplicate write; ``details`` says why
    ├── RateLimited       RATE_LIMITED     too many requests or too large a document
    └── Unavailable       UNAVAILABLE      a store, cluster or registry cannot be reached
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field; ``path`` points into the input (``nodes[3].data.replicas``)."""

    path: str
    message: str


class TrellisError(Exception):
    code: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code}


class Unauthenticated(TrellisError):
    code = "UNAUTHENTICATED"


class Forbidden(TrellisError):
    code = "FORBIDDEN"

    def __init__(self, message: str, *, workspace_id: str | None = None) -> None:
        super().__init__(message)
        self.workspace_id = workspace_id  # the workspace refused, so the audit trail files it there


class NotFound(TrellisError):
    code = "NOT_FOUND"

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident!r} was not found")
        self.what = what
        self.ident = ident


class Invalid(TrellisError):
    code = "BAD_INPUT"

    def __init__(self, message: str, fields: Iterable[FieldError] = ()) -> None:
        super().__init__(message)
        self.fields = tuple(fields)

    @classmethod
    def field(cls, path: str, message: str) -> Invalid:
        return cls(f"{path}: {message}", [FieldError(path, message)])

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "fields": [{"path": f.path, "message": f.message} for f in self.fields]}


class Conflict(TrellisError):
    code = "CONFLICT"

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = dict(details or {})

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, **self.details}


class RateLimited(TrellisError):
    code = "RATE_LIMITED"


class Unavailable(TrellisError):
    code = "UNAVAILABLE"


ERROR_CODES: tuple[str, ...] = (
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_INPUT",
    "CONFLICT",
    "RATE_LIMITED",
    "UNAVAILABLE",
    "INTERNAL",
)
