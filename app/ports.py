"""Protocols the services depend on. Adapters (and in-memory test fakes) satisfy them structurally."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from app.domain.audit import AuditEntry
from app.domain.paging import Page
from app.domain.users import Session, User
from app.domain.versions import Version, VersionDraft
from app.domain.workflows import Workflow, WorkflowFilter
from app.domain.workspaces import Membership, Scope, Workspace

# Keyset cursor of the workflow list (newest first): (created_at, id) of the last item seen.
WorkflowKey = tuple[datetime, str]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class UserStore(Protocol):
    async def create_user(self, user: User, personal_workspace: Workspace) -> User:
        """Insert the user, their personal workspace and its OWNER membership in one atomic write.

        If no user exists yet the stored user becomes ``ADMIN`` (decided inside the same atomic write,
        so two concurrent first registrations cannot both be admins); the stored user is returned.
        A taken e-mail (case-insensitive) raises ``Conflict``.
        """
        ...

    async def get_user(self, user_id: str) -> User | None: ...

    async def get_user_by_email(self, email: str) -> User | None: ...


class SessionStore(Protocol):
    async def create_session(self, session: Session) -> None: ...

    async def get_session(self, session_id: str) -> Session | None: ...

    async def revoke_session(self, session_id: str, at: datetime) -> None: ...


class WorkspaceStore(Protocol):
    async def create_workspace(self, workspace: Workspace, owner: Membership) -> None:
        """Insert the workspace and its first OWNER membership atomically."""
        ...

    async def get_workspace(self, scope: Scope, workspace_id: str) -> Workspace | None: ...

    async def list_workspaces(self, scope: Scope) -> list[Workspace]:
        """Every workspace in scope, personal first, then by name."""
        ...

    async def memberships_of_user(self, user_id: str) -> list[Membership]: ...

    async def list_members(self, scope: Scope, workspace_id: str) -> list[Membership]: ...

    async def add_member(self, membership: Membership) -> None:
        """``Conflict`` if the user is already a member."""
        ...

    async def remove_member(self, workspace_id: str, user_id: str) -> None:
        """``NotFound`` if not a member; ``Conflict`` if it would leave the workspace without an owner."""
        ...


class WorkflowStore(Protocol):
    async def insert_workflow(self, workflow: Workflow) -> None: ...

    async def get_workflow(self, scope: Scope, workflow_id: str) -> Workflow | None: ...

    async def list_workflows(
        self, scope: Scope, filter: WorkflowFilter, first: int, after: WorkflowKey | None
    ) -> Page[Workflow]:
        """Newest first by (created_at, id); ``after`` is the key of the last item of the previous page."""
        ...

    async def replace_workflow(self, scope: Scope, workflow: Workflow, expected_revision: int) -> Workflow:
        """Compare-and-set: store ``workflow`` (whose ``revision`` is ``expected_revision + 1``) only if
        the stored revision is still ``expected_revision``; otherwise ``Conflict`` with
        ``details={"currentRevision": n}``. ``NotFound`` if it is not in scope."""
        ...

    async def delete_workflow(self, scope: Scope, workflow_id: str) -> None:
        """Delete the workflow and all its versions atomically; ``NotFound`` if it is not in scope."""
        ...


class VersionStore(Protocol):
    async def create_version(self, scope: Scope, workflow_id: str, draft: VersionDraft) -> Version:
        """Append the next version number (max + 1, atomically: concurrent calls never share one)."""
        ...

    async def restore_version(
        self, scope: Scope, workflow_id: str, draft: VersionDraft, workflow: Workflow
    ) -> tuple[Version, Workflow]:
        """In one atomic write: append ``draft`` as the next version and replace the workflow with
        ``workflow`` (compare-and-set on ``workflow.revision - 1`` as in ``replace_workflow``)."""
        ...

    async def get_version(self, scope: Scope, workflow_id: str, number: int) -> Version | None: ...

    async def list_versions(
        self, scope: Scope, workflow_id: str, first: int, after: int | None
    ) -> Page[Version]:
        """Newest first by number; ``after`` is the number of the last item of the previous page."""
        ...


class AuditLog(Protocol):
    async def append_audit(self, entry: AuditEntry) -> None: ...

    async def list_audit(self, first: int, actor_id: str | None = None) -> list[AuditEntry]:
        """Newest first."""
        ...


class Store(UserStore, SessionStore, WorkspaceStore, WorkflowStore, VersionStore, AuditLog, Protocol):
    """The whole persistence port: one backend (SQLite or MongoDB) implements all of it."""

    async def ping(self) -> None:
        """Raise ``Unavailable`` if the store cannot be reached."""
        ...

    async def close(self) -> None: ...
