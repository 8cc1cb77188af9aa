"""The audit trail: who did what to which target, when, from where, and how it ended. Never a secret."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

MAX_USER_AGENT = 256  # longer User-Agent headers are cut: the trail keeps what identifies a client
MAX_DETAIL_VALUE = 500
# The user-info part of a URL (``https://user:password@host``, ``https://token@host``).
_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")


class AuditOutcome(StrEnum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


@dataclass(frozen=True, slots=True)
class RequestOrigin:
    """Where a request came from: the client's address (after trusted proxies) and its User-Agent.

    Either may be unknown (a background task, a test calling a service directly)."""

    address: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    at: datetime
    actor_id: str | None  # None for anonymous attempts (a failed login)
    action: str  # dotted verb: "workflow.create", "auth.login"
    target_type: str
    target_id: str | None
    workspace_id: str | None
    outcome: AuditOutcome
    error_code: str | None = None
    detail: dict[str, str] = field(default_factory=dict)
    address: str | None = None  # the client's address, when the entry came from a request
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries a listing keeps; every field that is set must match.

    ``workspace_id`` None means every entry (workspace-less ones such as sign-ins included);
    ``action_prefix`` matches the start of the dotted action (``"workflow."``); ``since`` is inclusive
    and ``until`` exclusive."""

    workspace_id: str | None = None
    actor_id: str | None = None
    action_prefix: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    outcome: AuditOutcome | None = None
    since: datetime | None = None
    until: datetime | None = None


def scrubbed(detail: Mapping[str, str]) -> dict[str, str]:
    """Detail values as the trail stores them: the user-info of any URL masked (a password or a token
    can hide there, whatever the service meant to record) and long values cut."""
    return {key: _URL_USERINFO.sub(r"\1***@", value)[:MAX_DETAIL_VALUE] for key, value in detail.items()}
