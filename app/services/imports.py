"""Compose import: analysis (nothing written) and the import itself (one atomic write).

An import makes a new DRAFT workflow of the analysed canvas, or appends the canvas to an existing workflow
(ids renamed where they collide, nodes placed below the existing ones); either way the canvas is checked
as ``saveWorkflow`` checks it, and the workflow and the encrypted values of its Secret nodes are written
in one store transaction, or nothing is.

What is imported is either pasted compose files (:class:`ComposeSource`, analysed here) or a finished
import from Git (:class:`GitImportSource`): its stored analysis and the Secret values kept, encrypted,
beside it (see :mod:`app.services.git_imports`). Both go through the same write path.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from app import errors
from app.auth.keyring import Keyring
from app.compose import ComposeAnalysis, ComposeProblem, FilesInMemory, analyze
from app.compose.layout import ROW
from app.domain.canvas_check import check_canvas
from app.domain.problems import Problem
from app.domain.workflows import Canvas, Node, Position, Workflow, WorkflowStatus
from app.ports import Clock, SecretValueStore, WorkflowStore
from app.ports import ImportStore as GitImportStore
from app.services.auditing import Auditor
from app.services.git_imports import open_secret_values, usable_analysis
from app.services.principals import Principal
from app.services.secret_values import check_values
from app.services.workflows import WorkflowService, invalid_canvas

MAX_FILES = 10
MAX_PROJECT_FILES = 200
MAX_ID = 63
"""Node ids become label values: at most 63 characters."""

# Keys of node data whose string values (or list items) are node ids, written by edges; an appended
# node's references follow its renamed id, so a mount or an ``envFrom`` keeps its settings.
_ID_REFERENCES = frozenset(
    {
        "nodeId",
        "_linkedDeployment",
        "_linkedService",
        "_linkedTarget",
        "_linkedWorkload",
        "_linkedConfigMaps",
        "_linkedSecrets",
        "_linkedPVCs",
        "_linkedWorkloads",
    }
)


@dataclass(frozen=True, slots=True)
class ComposeSource:
    """A pasted compose project: the compose files (first, then overrides) and what goes with them."""

    files: Sequence[str]
    env_text: str | None = None
    values: Mapping[str, str] | None = None
    namespace: str | None = None
    service_type: str = "ClusterIP"
    profiles: Sequence[str] = ()
    project_files: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GitImportSource:
    """A finished import from Git (``importFromGit``), by id: its stored analysis and kept Secret values.
    The import's own options (profiles, namespace) were applied when it was analysed."""

    import_id: str


@dataclass(frozen=True, slots=True)
class Project:
    """What an import writes: the canvas, the Secret values by node id, the warnings of the analysis."""

    canvas: Canvas
    secret_values: Mapping[str, Mapping[str, str]]
    warnings: tuple[ComposeProblem, ...]


@dataclass(frozen=True, slots=True)
class ImportTarget:
    """Where an import goes: a new DRAFT workflow (``name``, in ``workspace_id`` or the personal
    workspace) or the end of an existing one (``workflow_id`` with ``expected_revision``)."""

    workspace_id: str | None = None
    name: str | None = None
    description: str | None = None
    workflow_id: str | None = None
    expected_revision: int | None = None


@dataclass(frozen=True, slots=True)
class ImportedCompose:
    """The outcome of an import. ``secret_keys``: Secret node id (as stored) → key names with a stored
    value; ``canvas_warnings``: what ``saveWorkflow`` would have said of the stored canvas."""

    workflow: Workflow
    imported_node_ids: tuple[str, ...]
    secret_keys: Mapping[str, list[str]]
    warnings: tuple[ComposeProblem, ...]
    canvas_warnings: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class Appended:
    """An imported canvas appended to an existing one; ``secret_values`` keyed by the new node ids."""

    canvas: Canvas
    node_ids: tuple[str, ...]
    secret_values: Mapping[str, Mapping[str, str]]


class ComposeRejected(errors.Invalid):
    """The compose project has errors, so nothing is imported. Each error is a field error at its compose
    path (``services.web.ports[0]``; ``files`` for the whole project), and ``extensions.composeErrors``
    lists them with their stable code and service."""

    def __init__(self, problems: Sequence[ComposeProblem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(
            f"the compose project cannot be imported: {first.message}{more}",
            [errors.FieldError(p.field or "files", f"{p.code}: {p.message}") for p in problems],
        )
        self.problems = tuple(problems)

    def extensions(self) -> dict[str, Any]:
        return {
            **super().extensions(),
            "composeErrors": [
                {"code": p.code, "message": p.message, "service": p.service, "field": p.field}
                for p in self.problems
            ],
        }


class ComposeImportStore(WorkflowStore, SecretValueStore, GitImportStore, Protocol):
    pass


def check_source(source: ComposeSource) -> None:
    if not source.files:
        raise errors.Invalid.field("files", "give the content of at least one compose file")
    if len(source.files) > MAX_FILES:
        raise errors.Invalid.field("files", f"at most {MAX_FILES} files (the first, then overrides)")
    if len(source.project_files) > MAX_PROJECT_FILES:
        raise errors.Invalid.field("projectFiles", f"at most {MAX_PROJECT_FILES} files")


def check_target(target: ImportTarget) -> None:
    """Either a new workflow (``name``) or an existing one (``workflowId`` and ``expectedRevision``)."""
    if target.workflow_id is None:
        if target.name is None:
            raise errors.Invalid.field("name", "name the new workflow, or give workflowId to append")
        if target.expected_revision is not None:
            raise errors.Invalid.field("expectedRevision", "only with workflowId (appending)")
        return
    given = [
        path
        for path, value in (
            ("workspaceId", target.workspace_id),
            ("name", target.name),
            ("description", target.description),
        )
        if value is not None
    ]
    if given:
        raise errors.Invalid(
            "appending to a workflow keeps its workspace, name and description",
            [errors.FieldError(path, "only for a new workflow (without workflowId)") for path in given],
        )
    if target.expected_revision is None:
        raise errors.Invalid.field("expectedRevision", "give the revision the import appends to")


def analyze_source(source: ComposeSource) -> ComposeAnalysis:
    return analyze(
        source.files,
        env_text=source.env_text,
        values=source.values,
        namespace=source.namespace,
        service_type=source.service_type,
        profiles=source.profiles,
        project=FilesInMemory(source.project_files),
    )


def free_ids(ids: Sequence[str], taken: Collection[str]) -> dict[str, str]:
    """Old → new for each of ``ids`` (unique): itself unless ``taken``, else the first of ``<id>-2``,
    ``<id>-3``… (cut to 63 characters) that is neither taken nor one of ``ids``. Deterministic."""
    used = set(taken) | set(ids)
    renamed: dict[str, str] = {}
    for ident in ids:
        if ident not in taken:
            renamed[ident] = ident
            continue
        number = 2
        while (candidate := f"{ident[: MAX_ID - len(str(number)) - 1]}-{number}") in used:
            number += 1
        used.add(candidate)
        renamed[ident] = candidate
    return renamed


def _rename_references(value: Any, renamed: Mapping[str, str], key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _rename_references(v, renamed, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_references(item, renamed, key) for item in value]
    if key in _ID_REFERENCES and isinstance(value, str):
        return renamed.get(value, value)
    return value


def append_canvas(
    existing: Canvas,
    imported: Canvas,
    secret_values: Mapping[str, Mapping[str, str]],
    taken_node_ids: Collection[str] = (),
) -> Appended:
    """``imported`` after ``existing``: node and edge ids that collide with existing ones (or with
    ``taken_node_ids``, e.g. nodes that still have stored Secret values) renamed, with the edges, the
    node references in data and the keys of ``secret_values`` following; imported nodes moved below
    the lowest existing node (one layout row apart), keeping their layout."""
    node_ids = free_ids([n.id for n in imported.nodes], {n.id for n in existing.nodes} | set(taken_node_ids))
    edge_ids = free_ids([e.id for e in imported.edges], {e.id for e in existing.edges})
    shift = 0.0
    if existing.nodes and imported.nodes:
        lowest = max(n.position.y for n in existing.nodes)
        shift = lowest + ROW - min(n.position.y for n in imported.nodes)
    nodes = tuple(
        Node(
            id=node_ids[n.id],
            kind=n.kind,
            position=Position(n.position.x, n.position.y + shift),
            data=_rename_references(n.data, node_ids),
        )
        for n in imported.nodes
    )
    edges = tuple(
        replace(
            e,
            id=edge_ids[e.id],
            source=node_ids.get(e.source, e.source),
            target=node_ids.get(e.target, e.target),
        )
        for e in imported.edges
    )
    return Appended(
        canvas=Canvas(existing.nodes + nodes, existing.edges + edges),
        node_ids=tuple(n.id for n in nodes),
        secret_values={node_ids.get(node, node): values for node, values in secret_values.items()},
    )


def without_namespace(canvas: Canvas, namespace: str) -> Canvas:
    """``canvas`` with each node's ``namespace`` left out where it is ``namespace`` (the workflow's, which
    applies to such nodes anyway), as a pasted import leaves it out."""
    nodes = tuple(
        replace(n, data={k: v for k, v in n.data.items() if k != "namespace"})
        if n.data.get("namespace") == namespace
        else n
        for n in canvas.nodes
    )
    return replace(canvas, nodes=nodes)


class ImportService:
    def __init__(
        self,
        *,
        store: ComposeImportStore,
        keyring: Keyring,
        clock: Clock,
        auditor: Auditor,
        workflows: WorkflowService,
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._clock = clock
        self._auditor = auditor
        self._workflows = workflows

    async def analyze(
        self,
        principal: Principal,  # noqa: ARG002 (signed-in users only; nothing is read or written for them)
        source: ComposeSource,
    ) -> ComposeAnalysis:
        check_source(source)
        # Parsing and translating is CPU work: keep it off the event loop.
        return await asyncio.to_thread(analyze_source, source)

    async def import_compose(
        self, principal: Principal, source: ComposeSource | GitImportSource, target: ImportTarget
    ) -> ImportedCompose:
        """Analyse ``source`` (or take a finished Git import's analysis and Secret values) and write the
        result into ``target`` with its Secret values, atomically.

        Compose errors are ``ComposeRejected``; a Git import that cannot be used (yet) is
        ``GitImportNotUsable``; a stale ``expected_revision`` is ``Conflict`` with ``currentRevision``;
        nothing is written in any of these cases. Versions are not created (as with ``saveWorkflow``)."""
        if isinstance(source, ComposeSource):
            check_source(source)
        check_target(target)
        async with self._auditor.action(
            "workflow.import",
            actor_id=principal.user_id,
            target_type="workflow",
            target_id=target.workflow_id,
            workspace_id=target.workspace_id,
        ) as record:
            if isinstance(source, GitImportSource):
                origin = {"source": "gitImport", "gitImportId": source.import_id}
                base, project = await self._from_git(principal, source, target)
            else:
                origin = {"source": "files"}
                base, project = await self._from_files(principal, source, target)
            record.target_id, record.workspace_id = base.id, base.workspace_id
            workflow, imported_ids, secret_values, canvas_warnings = await self._merged(base, project, target)
            ciphertexts = self._encrypted(secret_values)
            record.detail = {
                **origin,
                "mode": "new" if target.workflow_id is None else "append",
                "nodes": str(len(imported_ids)),
                "edges": str(len(workflow.canvas.edges) - len(base.canvas.edges)),
                "secretNodes": str(len(ciphertexts)),
                "secretKeys": str(sum(len(values) for values in secret_values.values())),
                "warnings": str(len(project.warnings)),
            }
            stored = await self._store.write_workflow_with_secrets(
                principal.scope,
                workflow,
                ciphertexts,
                at=self._clock.now(),
                expected_revision=None if target.workflow_id is None else workflow.revision - 1,
            )
            if target.workflow_id is not None:
                await self._workflows.saved(principal, stored)
            return ImportedCompose(
                workflow=stored,
                imported_node_ids=imported_ids,
                secret_keys={
                    node: sorted(values) for node, values in sorted(secret_values.items()) if values
                },
                warnings=project.warnings,
                canvas_warnings=canvas_warnings,
            )

    async def _from_files(
        self, principal: Principal, source: ComposeSource, target: ImportTarget
    ) -> tuple[Workflow, Project]:
        """The workflow written into and what the pasted project becomes."""
        base = await self._base(principal, source.namespace, target)
        # A new workflow takes the namespace itself; appended nodes get it only if it is another one.
        appending_elsewhere = target.workflow_id is not None and source.namespace != base.namespace
        node_namespace = source.namespace if appending_elsewhere else None
        analysis = await asyncio.to_thread(analyze_source, replace(source, namespace=node_namespace))
        if analysis.errors:
            raise ComposeRejected(analysis.errors)
        return base, Project(analysis.canvas, analysis.secret_values, analysis.warnings)

    async def _from_git(
        self, principal: Principal, source: GitImportSource, target: ImportTarget
    ) -> tuple[Workflow, Project]:
        """The workflow written into and what the Git import holds: its canvas (nodes keep the import's
        namespace only where it is not the workflow's), its Secret values, its warnings. Taking an
        import's values out of its workspace needs write access there; a new workflow goes into the
        import's workspace unless another is named, with the import's namespace."""
        job = await self._store.get_import(principal.scope, source.import_id)
        if job is None:
            raise errors.NotFound("import", source.import_id)
        principal.require_write(job.workspace_id)
        ciphertext = await self._store.import_secret_values(principal.scope, job.id)
        analysis = usable_analysis(job, has_values=ciphertext is not None)
        values = open_secret_values(self._keyring, ciphertext)
        if target.workflow_id is None and target.workspace_id is None:
            target = replace(target, workspace_id=job.workspace_id)
        base = await self._base(principal, job.options.namespace, target)
        warnings = tuple(ComposeProblem(p.code, p.message, p.service, p.field) for p in analysis.warnings)
        return base, Project(without_namespace(analysis.canvas, base.namespace), values, warnings)

    async def _base(self, principal: Principal, namespace: str | None, target: ImportTarget) -> Workflow:
        """The new empty draft (in ``namespace``), or the existing workflow (writable, not archived)."""
        if target.workflow_id is None:
            return await self._workflows.new_draft(
                principal,
                name=target.name or "",
                description=target.description or "",
                workspace_id=target.workspace_id,
                namespace=namespace,
                cluster_id=None,
            )
        current = await self._workflows.get(principal, target.workflow_id)
        principal.require_write(current.workspace_id)
        if current.status is WorkflowStatus.ARCHIVED:
            raise errors.Invalid.field(
                "workflowId", "an archived workflow is read-only; move it back to DRAFT first"
            )
        return current

    async def _merged(
        self, base: Workflow, project: Project, target: ImportTarget
    ) -> tuple[Workflow, tuple[str, ...], Mapping[str, Mapping[str, str]], tuple[Problem, ...]]:
        """The workflow to store (its canvas checked as ``saveWorkflow`` checks it), the imported node
        ids, the Secret values by stored node id, and the canvas warnings."""
        if target.workflow_id is None or target.expected_revision is None:
            checked = check_canvas(project.canvas)
            if checked.errors:
                raise invalid_canvas(checked.errors)
            imported = tuple(n.id for n in checked.canvas.nodes)
            return replace(base, canvas=checked.canvas), imported, project.secret_values, checked.warnings
        taken = set(await self._store.secret_values(base.id))
        appended = append_canvas(base.canvas, project.canvas, project.secret_values, taken)
        planned = self._workflows.planned_save(base, appended.canvas, target.expected_revision)
        return planned.workflow, appended.node_ids, appended.secret_values, planned.warnings

    def _encrypted(self, secret_values: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
        """Node id → ciphertext, as ``SecretValueService.set_values`` encrypts them (nodes without values
        are left out)."""
        ciphertexts: dict[str, str] = {}
        for node_id, values in sorted(secret_values.items()):
            if values:
                check_values(values, f"secrets.{node_id}")
                ciphertexts[node_id] = self._keyring.encrypt(json.dumps(dict(values), sort_keys=True))
        return ciphertexts
