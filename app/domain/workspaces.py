"""Workspaces are the tenants: every workflow belongs to exactly one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MemberRole(StrEnum):
    """What a member may do in a workspace. Viewers read, editors write, owners manage members."""

    OWNER = "OWNER"
    EDITOR = "EDITOR"
    VIEWER = "VIEWER"

    @property
    def can_write(self) -> bool:
        return self in (MemberRole.OWNER, MemberRole.EDITOR)

    @property
    def can_manage(self) -> bool:
        return self is MemberRole.OWNER


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    name: str
    personal: bool
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    workspace_id: str
    user_id: str
    role: MemberRole
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Scope:
    """The workspaces a caller can see. The store applies it to every tenant query, in one place."""

    workspace_ids: frozenset[str]

    @classmethod
    def of(cls, ids: Iterable[str]) -> Scope:
        return cls(frozenset(ids))

    def __contains__(self, workspace_id: object) -> bool:
        return workspace_id in self.workspace_ids
