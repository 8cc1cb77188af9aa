"""Workflows: create, read, rename, move through statuses, delete, and save or validate the canvas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from app import errors
from app.domain import names
from app.domain.canvas_check import CanvasCheck, check_canvas
from app.domain.flows import check_flow, flow_kinds_in
from app.domain.ids import new_id
from app.domain.paging import Page
from app.domain.problems import Problem
from app.domain.runs import AppliedObject
from app.domain.workflows import (
    Canvas,
    Edge,
    Node,
    Workflow,
    WorkflowFilter,
    WorkflowStatus,
    WorkflowType,
    can_transition,
)
from app.ports import Clock, ClusterStore, FileStore, WorkflowStore, WorkspaceStore
from app.services.auditing import Auditor
from app.services.paging import PageRules, decode_cursor, encode_cursor
from app.services.principals import Principal

MAX_NAME = 100
SavedHook = Callable[[Principal, Workflow], Awaitable[None]]
"""Told of every stored write that bumped a workflow's revision (live collaboration's WORKFLOW_SYNC)."""
MAX_DESCRIPTION = 2000
CURSOR_LIST = "workflows"


class WorkflowServiceStore(WorkflowStore, WorkspaceStore, ClusterStore, FileStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class SavedCanvas:
    workflow: Workflow
    warnings: tuple[Problem, ...]
    removed_node_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WorkflowChanges:
    """Fields of ``updateWorkflow``; ``None`` leaves a field as it is (``clear_cluster`` unsets it)."""

    name: str | None = None
    description: str | None = None
    status: WorkflowStatus | None = None
    namespace: str | None = None
    cluster_id: str | None = None
    clear_cluster: bool = False
    expected_revision: int | None = None
    delete_volumes: bool = False  # when archiving removes what the workflow deployed
    type: WorkflowType | None = None  # fixed at creation: only the current type is accepted


def workflow_cursor(workflow: Workflow) -> str:
    return encode_cursor(CURSOR_LIST, [workflow.created_at.isoformat(), workflow.id])


def check_for(type: WorkflowType, canvas: Canvas, *, strict: bool = False) -> CanvasCheck:
    """The checks of a canvas of a workflow of ``type``: flow rules for a FLOW, the Kubernetes kinds' rules
    for a TOPOLOGY (where a flow step is refused by name rather than as an unknown kind)."""
    if type is WorkflowType.FLOW:
        return check_flow(canvas, strict=strict)
    result = check_canvas(canvas, strict=strict)
    steps = flow_kinds_in(canvas)
    if not steps:
        return result
    paths = {problem.path for problem in steps}
    return replace(result, errors=(*steps, *(e for e in result.errors if e.path not in paths)))


def require_deployable(workflow: Workflow, field: str = "id") -> None:
    """``BAD_INPUT`` for a FLOW: previews, plans and deploy runs are for topologies only."""
    if workflow.type is WorkflowType.FLOW:
        raise errors.Invalid.field(
            field,
            f"workflow {workflow.name!r} is a FLOW: its steps run with the flow engine, not as manifests "
            "applied to a cluster; previews, plans and deploy runs are for TOPOLOGY workflows",
        )


def invalid_canvas(problems: Sequence[Problem]) -> errors.Invalid:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return errors.Invalid(
        f"the canvas is not valid: {first.path}: {first.message}{more}",
        [errors.FieldError(p.path, p.message) for p in problems],
    )


class TeardownFn(Protocol):
    async def __call__(
        self, principal: Principal, workflow: Workflow, *, delete_volumes: bool
    ) -> list[AppliedObject]: ...


class WorkflowService:
    def __init__(
        self,
        *,
        store: WorkflowServiceStore,
        clock: Clock,
        auditor: Auditor,
        paging: PageRules,
        teardown: TeardownFn,
        on_saved: SavedHook | None = None,
    ) -> None:
        self._teardown = teardown
        self._on_saved = on_saved
        self._store = store
        self._clock = clock
        self._auditor = auditor
        self._paging = paging

    async def get(self, principal: Principal, workflow_id: str) -> Workflow:
        workflow = await self._store.get_workflow(principal.scope, workflow_id)
        if workflow is None:
            raise errors.NotFound("workflow", workflow_id)
        return workflow

    async def page(
        self, principal: Principal, *, filter: WorkflowFilter, first: int | None, after: str | None
    ) -> Page[Workflow]:
        size = self._paging.size(first)
        key = None
        if after is not None:
            created, ident = decode_cursor(CURSOR_LIST, after)
            try:
                key = (datetime.fromisoformat(str(created)), str(ident))
            except ValueError as exc:
                raise errors.Invalid.field("after", "is not a cursor of this list") from exc
        if filter.name_contains is not None and len(filter.name_contains) > MAX_NAME:
            raise errors.Invalid.field("filter.nameContains", f"must be at most {MAX_NAME} characters")
        return await self._store.list_workflows(principal.scope, filter, size, key)

    async def create(
        self,
        principal: Principal,
        *,
        name: str,
        description: str,
        workspace_id: str | None,
        namespace: str | None,
        cluster_id: str | None,
        type: WorkflowType = WorkflowType.TOPOLOGY,
    ) -> Workflow:
        name, description = _clean_name(name), _clean_description(description)
        async with self._auditor.action(
            "workflow.create", actor_id=principal.user_id, target_type="workflow", workspace_id=workspace_id
        ) as record:
            workflow = await self.new_draft(
                principal,
                name=name,
                description=description,
                workspace_id=workspace_id,
                namespace=namespace,
                cluster_id=cluster_id,
                type=type,
            )
            record.target_id, record.workspace_id = workflow.id, workflow.workspace_id
            record.detail = {"type": type.value}
            await self._store.insert_workflow(workflow)
            return workflow

    async def new_draft(
        self,
        principal: Principal,
        *,
        name: str,
        description: str,
        workspace_id: str | None,
        namespace: str | None,
        cluster_id: str | None,
        type: WorkflowType = WorkflowType.TOPOLOGY,
    ) -> Workflow:
        """The empty DRAFT workflow ``create`` inserts (inputs checked, write access required), not written:
        imports write it together with their canvas and Secret values."""
        name, description = _clean_name(name), _clean_description(description)
        workspace = await self._target_workspace(principal, workspace_id)
        principal.require_write(workspace.id)
        if namespace is not None:
            _check_namespace(namespace)
        if cluster_id:
            await self._check_cluster(principal, cluster_id, workspace.id)
        now = self._clock.now()
        return Workflow(
            id=new_id(),
            workspace_id=workspace.id,
            name=name,
            description=description,
            status=WorkflowStatus.DRAFT,
            namespace=namespace or names.default_namespace(workspace.name, name),
            cluster_id=cluster_id or None,
            canvas=Canvas(),
            revision=1,
            created_by=principal.user_id,
            created_at=now,
            updated_at=now,
            type=type,
        )

    async def update(self, principal: Principal, workflow_id: str, changes: WorkflowChanges) -> Workflow:
        async with self._auditor.action(
            "workflow.update", actor_id=principal.user_id, target_type="workflow", target_id=workflow_id
        ) as record:
            current = await self._writable(principal, workflow_id)
            record.workspace_id = current.workspace_id
            if changes.type is not None and changes.type != current.type:
                raise errors.Invalid.field(
                    "type",
                    "the type of a workflow is fixed when it is created; this one is a "
                    f"{current.type.value}. Create a new workflow of type {changes.type.value} instead",
                )
            expected = _expected(current, changes.expected_revision)
            updated = current
            if changes.name is not None:
                updated = replace(updated, name=_clean_name(changes.name))
            if changes.description is not None:
                updated = replace(updated, description=_clean_description(changes.description))
            if changes.namespace is not None:
                _check_namespace(changes.namespace)
                updated = replace(updated, namespace=changes.namespace)
            if changes.clear_cluster:
                updated = replace(updated, cluster_id=None)
            elif changes.cluster_id is not None:
                await self._check_cluster(principal, changes.cluster_id, current.workspace_id)
                updated = replace(updated, cluster_id=changes.cluster_id)
            if changes.status is not None and changes.status != current.status:
                if not can_transition(current.status, changes.status):
                    raise errors.Invalid.field(
                        "status", f"a {current.status.value} workflow cannot become {changes.status.value}"
                    )
                record.detail = {"from": current.status.value, "to": changes.status.value}
                if changes.status is WorkflowStatus.ARCHIVED:
                    removed = await self._teardown(principal, current, delete_volumes=changes.delete_volumes)
                    record.detail["removedObjects"] = str(len(removed))
                updated = replace(updated, status=changes.status)
            if updated == current:
                return current
            updated = replace(updated, revision=expected + 1, updated_at=self._clock.now())
            stored = await self._store.replace_workflow(principal.scope, updated, expected)
            await self.saved(principal, stored)
            return stored

    async def delete(
        self,
        principal: Principal,
        workflow_id: str,
        *,
        delete_resources: bool = False,
        delete_volumes: bool = False,
    ) -> list[AppliedObject]:
        """Delete the workflow; with ``delete_resources`` first remove what it deployed (prune rules)."""
        async with self._auditor.action(
            "workflow.delete", actor_id=principal.user_id, target_type="workflow", target_id=workflow_id
        ) as record:
            current = await self._writable(principal, workflow_id)
            record.workspace_id = current.workspace_id
            removed = []
            if delete_resources:
                removed = await self._teardown(principal, current, delete_volumes=delete_volumes)
                record.detail = {"removedObjects": str(len(removed))}
            await self._store.delete_workflow(principal.scope, workflow_id)
            return removed

    async def check(
        self, principal: Principal, workflow_id: str, nodes: Sequence[Node], edges: Sequence[Edge]
    ) -> CanvasCheck:
        """The checks of ``save`` without saving (``validateWorkflow``)."""
        workflow = await self.get(principal, workflow_id)
        result = check_for(workflow.type, Canvas(tuple(nodes), tuple(edges)))
        missing = await self._missing_files(principal, workflow.workspace_id, result.canvas, nodes)
        return replace(result, errors=(*result.errors, *missing)) if missing else result

    async def save(
        self,
        principal: Principal,
        workflow_id: str,
        *,
        nodes: Sequence[Node],
        edges: Sequence[Edge],
        expected_revision: int,
    ) -> SavedCanvas:
        async with self._auditor.action(
            "workflow.save", actor_id=principal.user_id, target_type="workflow", target_id=workflow_id
        ) as record:
            current = await self._writable(principal, workflow_id)
            record.workspace_id = current.workspace_id
            planned = self.planned_save(current, Canvas(tuple(nodes), tuple(edges)), expected_revision)
            canvas = planned.workflow.canvas
            missing = await self._missing_files(principal, current.workspace_id, canvas, nodes)
            if missing:
                raise invalid_canvas(missing)
            record.detail = {"nodes": str(len(canvas.nodes)), "edges": str(len(canvas.edges))}
            saved = await self._store.replace_workflow(
                principal.scope, planned.workflow, planned.workflow.revision - 1
            )
            await self.saved(principal, saved)
            return replace(planned, workflow=saved)

    async def saved(self, principal: Principal, workflow: Workflow) -> None:
        """Tell the others ``principal`` stored a new revision of ``workflow`` (saves, updates, imports and
        restores call it after their write)."""
        if self._on_saved is not None:
            await self._on_saved(principal, workflow)

    def planned_save(self, current: Workflow, canvas: Canvas, expected_revision: int) -> SavedCanvas:
        """What ``save`` stores over ``current`` (archived refused, ``canvas`` checked and sanitised, a
        stale ``expected_revision`` a ``Conflict``), not written: the caller writes ``workflow`` with a
        compare-and-set on ``expected_revision``. Imports reuse it so they store what ``save`` would."""
        if current.status is WorkflowStatus.ARCHIVED:
            raise errors.Invalid.field("id", "an archived workflow is read-only; move it back to DRAFT first")
        result = check_for(current.type, canvas)
        if result.errors:
            raise invalid_canvas(result.errors)
        expected = _expected(current, expected_revision)
        kept = {node.id for node in result.canvas.nodes}
        removed = tuple(node.id for node in current.canvas.nodes if node.id not in kept)
        updated = replace(current, canvas=result.canvas, revision=expected + 1, updated_at=self._clock.now())
        return SavedCanvas(workflow=updated, warnings=result.warnings, removed_node_ids=removed)

    async def _missing_files(
        self, principal: Principal, workspace_id: str, canvas: Canvas, sent: Sequence[Node]
    ) -> list[Problem]:
        """Errors for the Function nodes of a checked ``canvas`` whose ``fileId`` is not a file of the
        workspace (paths index ``sent``, the nodes as the client sent them)."""
        index_of = {node.id: index for index, node in reversed(list(enumerate(sent)))}
        problems = []
        for node in canvas.nodes:
            file_id = node.data.get("fileId") if node.kind == "Function" else None
            if not file_id:
                continue
            file = await self._store.get_file(principal.scope, file_id)
            if file is None or file.workspace_id != workspace_id:
                problems.append(
                    Problem(
                        f"nodes[{index_of[node.id]}].data.fileId",
                        f"no file with the id {file_id!r} in this workspace (see files)",
                    )
                )
        return problems

    async def _check_cluster(self, principal: Principal, cluster_id: str, workspace_id: str) -> None:
        cluster = await self._store.get_cluster(principal.scope, cluster_id)
        if cluster is None or cluster.workspace_id != workspace_id:
            raise errors.Invalid.field(
                "clusterId", "no cluster with this id is registered in the workflow's workspace"
            )

    async def _writable(self, principal: Principal, workflow_id: str) -> Workflow:
        workflow = await self.get(principal, workflow_id)
        principal.require_write(workflow.workspace_id)
        return workflow

    async def _target_workspace(self, principal: Principal, workspace_id: str | None) -> _WorkspaceRef:
        if workspace_id is not None:
            workspace = await self._store.get_workspace(principal.scope, workspace_id)
            if workspace is None:
                raise errors.NotFound("workspace", workspace_id)
            return _WorkspaceRef(workspace.id, workspace.name)
        for workspace in await self._store.list_workspaces(principal.scope):
            if workspace.personal and workspace.created_by == principal.user_id:
                return _WorkspaceRef(workspace.id, workspace.name)
        raise errors.Invalid.field("workspaceId", "you have no personal workspace; name a workspace")


@dataclass(frozen=True, slots=True)
class _WorkspaceRef:
    id: str
    name: str


def _expected(current: Workflow, expected: int | None) -> int:
    if expected is not None and expected != current.revision:
        raise errors.Conflict(
            f"the workflow changed since revision {expected}; it is now at revision {current.revision}",
            {"currentRevision": current.revision},
        )
    return current.revision


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise errors.Invalid.field("name", f"must be 1 to {MAX_NAME} characters")
    return name


def _clean_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        raise errors.Invalid.field("description", f"must be at most {MAX_DESCRIPTION} characters")
    return description


def _check_namespace(namespace: str) -> None:
    if not names.is_dns1123_label(namespace):
        raise errors.Invalid.field(
            "namespace", "must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters"
        )
