"""Workspace secrets: list (names only), set (create or replace; the value encrypted with the keyring),
delete (refused while a flow's steps read the secret, unless forced), and :meth:`reveal` — the
:class:`~app.ports.WorkspaceSecretReader` flow executors get values through, at execution only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from app import errors
from app.auth.keyring import Keyring, KeyringError
from app.domain.workflows import Workflow, WorkflowFilter, WorkflowType
from app.domain.workspace_secrets import (
    MAX_DESCRIPTION,
    MAX_VALUE_BYTES,
    WorkspaceSecret,
    name_problem,
    nodes_using_secret,
)
from app.ports import Clock, WorkflowStore, WorkspaceSecretStore, WorkspaceStore
from app.services.auditing import Auditor
from app.services.principals import Principal

_SCAN_PAGE = 100  # flows read per page when looking for the users of a secret


class WorkspaceSecretServiceStore(WorkspaceSecretStore, WorkflowStore, WorkspaceStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class SecretInput:
    """What ``setSecret`` sends. ``value`` is never logged, audited or returned."""

    workspace_id: str
    name: str
    value: str
    description: str = ""

    def __repr__(self) -> str:
        return f"SecretInput(workspace_id={self.workspace_id!r}, name={self.name!r}, value=***)"


@dataclass(frozen=True, slots=True)
class SecretUser:
    """A flow whose steps (``node_ids``) read a secret."""

    workflow: Workflow
    node_ids: tuple[str, ...]


class WorkspaceSecretService:
    def __init__(
        self, *, store: WorkspaceSecretServiceStore, keyring: Keyring, clock: Clock, auditor: Auditor
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._clock = clock
        self._auditor = auditor

    async def visible(self, principal: Principal, workspace_id: str) -> list[WorkspaceSecret]:
        """The workspace's secrets by name, without values (``NOT_FOUND`` for a workspace not seen)."""
        if await self._store.get_workspace(principal.scope, workspace_id) is None:
            raise errors.NotFound("workspace", workspace_id)
        return await self._store.list_workspace_secrets(principal.scope, workspace_id)

    async def set(self, principal: Principal, given: SecretInput) -> WorkspaceSecret:
        """Check the name, description and value, then store the secret (replacing one of that name)."""
        async with self._auditor.action(
            "secret.set",
            actor_id=principal.user_id,
            target_type="secret",
            target_id=given.name,
            workspace_id=given.workspace_id,
        ) as record:
            if await self._store.get_workspace(principal.scope, given.workspace_id) is None:
                raise errors.NotFound("workspace", given.workspace_id)
            principal.require_write(given.workspace_id)
            _check(given)
            existing = await self._store.get_workspace_secret(principal.scope, given.workspace_id, given.name)
            now = self._clock.now()
            stored = await self._store.put_workspace_secret(
                WorkspaceSecret(
                    workspace_id=given.workspace_id,
                    name=given.name,
                    description=given.description,
                    created_by=principal.user_id,
                    created_at=now,
                    updated_by=principal.user_id,
                    updated_at=now,
                ),
                self._keyring.encrypt(given.value),
            )
            record.detail = {"name": given.name, "replaced": str(existing is not None).lower()}
            return stored

    async def delete(self, principal: Principal, workspace_id: str, name: str, *, force: bool) -> None:
        """Delete the secret; ``CONFLICT`` naming the flows whose steps read it, unless ``force``."""
        async with self._auditor.action(
            "secret.delete",
            actor_id=principal.user_id,
            target_type="secret",
            target_id=name,
            workspace_id=workspace_id,
        ) as record:
            if await self._store.get_workspace(principal.scope, workspace_id) is None:
                raise errors.NotFound("workspace", workspace_id)
            principal.require_write(workspace_id)
            if await self._store.get_workspace_secret(principal.scope, workspace_id, name) is None:
                raise errors.NotFound("secret", name)
            users = await self.users(principal, workspace_id, name)
            if users and not force:
                named = ", ".join(f"{user.workflow.name!r} ({', '.join(user.node_ids)})" for user in users)
                raise errors.Conflict(
                    f"the secret {name} is read by steps of {len(users)} flow(s): {named}; change them "
                    "first, or delete with force: true",
                    {"workflowIds": [user.workflow.id for user in users]},
                )
            record.detail = {"name": name, "usedBy": str(len(users))}
            await self._store.delete_workspace_secret(principal.scope, workspace_id, name)

    async def users(self, principal: Principal, workspace_id: str, name: str) -> list[SecretUser]:
        """The flows of the workspace whose steps read the secret ``name``."""
        found: list[SecretUser] = []
        query = WorkflowFilter(type=WorkflowType.FLOW, workspace_id=workspace_id)
        after = None
        while True:
            page = await self._store.list_workflows(principal.scope, query, _SCAN_PAGE, after)
            for workflow in page.items:
                node_ids = nodes_using_secret(workflow.canvas, name)
                if node_ids:
                    found.append(SecretUser(workflow, node_ids))
            if not page.has_next or not page.items:
                return found
            after = (page.items[-1].created_at, page.items[-1].id)

    async def reveal(self, workspace_id: str, names: Sequence[str]) -> dict[str, str]:
        """The values of the named secrets (the :class:`~app.ports.WorkspaceSecretReader`): ``NotFound``
        naming the first one the workspace lacks; ``Unavailable`` when no key decrypts one. Internal: the
        flow engine asks for the secrets of a run's own workspace."""
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return {}
        stored = await self._store.workspace_secret_ciphertexts(workspace_id, wanted)
        missing = next((name for name in wanted if name not in stored), None)
        if missing is not None:
            raise errors.NotFound("secret", missing)
        try:
            return {name: self._keyring.decrypt(stored[name]) for name in wanted}
        except KeyringError as exc:
            raise errors.Unavailable(
                "a workspace secret cannot be decrypted with the keys in TRELLIS_ENCRYPTION_KEYS"
            ) from exc


def _check(given: SecretInput) -> None:
    problems = []
    problem = name_problem(given.name)
    if problem:
        problems.append(errors.FieldError("name", problem))
    if len(given.description) > MAX_DESCRIPTION:
        problems.append(errors.FieldError("description", f"must be at most {MAX_DESCRIPTION} characters"))
    try:
        size = len(given.value.encode("utf-8"))
    except UnicodeEncodeError:
        problems.append(errors.FieldError("value", "is not valid Unicode text"))
    else:
        if size == 0:
            problems.append(errors.FieldError("value", "must not be empty"))
        elif size > MAX_VALUE_BYTES:
            problems.append(errors.FieldError("value", f"must be at most {MAX_VALUE_BYTES} bytes"))
    if problems:
        raise errors.Invalid("the secret is not valid", problems)
