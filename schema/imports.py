"""`analyzeCompose`: what a Docker Compose project would become, with nothing written; `importCompose`:
write it (pasted files, or a finished import from Git), into a new DRAFT workflow or appended to an
existing one, all or nothing."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app import errors
from app.compose import ComposeAnalysis, ComposeProblem
from app.services.imports import ComposeSource, GitImportSource, ImportTarget
from schema.context import Info
from schema.runs.types import SecretKeys
from schema.workflows.types import CanvasEdge, CanvasNode, CanvasProblem, Workflow


@strawberry.type(description="A warning or error of a compose analysis.")
class ComposeIssue:
    code: str = strawberry.field(description="Stable code, e.g. `BIND_MOUNT_NOT_SUPPORTED`.")
    message: str = strawberry.field(description="What happened and what to do.")
    service: str | None = strawberry.field(description="The compose service it concerns.")
    field: str | None = strawberry.field(description="The compose path, e.g. `services.web.ports[0]`.")

    @classmethod
    def many(cls, problems: tuple[ComposeProblem, ...]) -> list[ComposeIssue]:
        return [cls(code=p.code, message=p.message, service=p.service, field=p.field) for p in problems]


@strawberry.type(
    description="What a compose project would become. Secret values found are kept, never shown."
)
class ComposeAnalysisResult:
    services: list[str] = strawberry.field(description="Compose services found.")
    volumes: list[str] = strawberry.field(description="Named volumes.")
    networks: list[str] = strawberry.field(description="Networks (not translated: pods share a network).")
    nodes: list[CanvasNode] = strawberry.field(
        description="The suggested nodes, laid out in columns by role."
    )
    edges: list[CanvasEdge] = strawberry.field(description="The suggested edges.")
    secret_keys: list[SecretKeys] = strawberry.field(
        description="Secret nodes and the keys whose values were found."
    )
    warnings: list[ComposeIssue] = strawberry.field(
        description="What was translated with a caveat, or not at all."
    )
    errors: list[ComposeIssue] = strawberry.field(description="Why nothing could be produced.")

    @classmethod
    def from_domain(cls, analysis: ComposeAnalysis) -> ComposeAnalysisResult:
        return cls(
            services=list(analysis.services),
            volumes=list(analysis.volumes),
            networks=list(analysis.networks),
            nodes=[CanvasNode.from_domain(n) for n in analysis.canvas.nodes],
            edges=[CanvasEdge.from_domain(e) for e in analysis.canvas.edges],
            secret_keys=[
                SecretKeys(node_id=strawberry.ID(node), keys=sorted(values))
                for node, values in sorted(analysis.secret_values.items())
            ],
            warnings=ComposeIssue.many(analysis.warnings),
            errors=ComposeIssue.many(analysis.errors),
        )


@strawberry.input(description="A file of the project besides the compose files (an env_file, a config...).")
class ProjectFileInput:
    path: str = strawberry.field(description="Path relative to the project root, e.g. `config/app.env`.")
    content: str = strawberry.field(description="The file's text.")


def compose_source(
    files: list[str],
    env_file: str | None,
    values: JSON | None,
    namespace: str | None,
    service_type: str,
    profiles: list[str] | None,
    project_files: list[ProjectFileInput] | None,
) -> ComposeSource:
    if values is not None and (
        not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values())
    ):
        raise errors.Invalid.field("values", "must be an object of string values")
    return ComposeSource(
        files=files,
        env_text=env_file,
        values=values,
        namespace=namespace,
        service_type=service_type,
        profiles=tuple(profiles or ()),
        project_files={f.path: f.content for f in project_files or ()},
    )


@strawberry.type
class ImportQuery:
    @strawberry.field(description="Analyse Docker Compose files without writing anything.")
    async def analyze_compose(
        self,
        info: Info,
        files: Annotated[list[str], strawberry.argument(description="File contents; later ones override.")],
        env_file: Annotated[str | None, strawberry.argument(description="Content of a `.env` file.")] = None,
        values: Annotated[
            JSON | None, strawberry.argument(description="Variables that win over `.env`.")
        ] = None,
        namespace: Annotated[str | None, strawberry.argument(description="Namespace for the nodes.")] = None,
        service_type: Annotated[
            str, strawberry.argument(description="ClusterIP, NodePort or LoadBalancer for published ports.")
        ] = "ClusterIP",
        profiles: Annotated[
            list[str] | None, strawberry.argument(description="Compose profiles to enable.")
        ] = None,
        project_files: Annotated[
            list[ProjectFileInput] | None,
            strawberry.argument(description="Other files of the project: env files, configs, includes."),
        ] = None,
    ) -> ComposeAnalysisResult:
        principal = await info.context.principal()
        source = compose_source(files, env_file, values, namespace, service_type, profiles, project_files)
        analysis = await info.context.services.imports.analyze(principal, source)
        return ComposeAnalysisResult.from_domain(analysis)


@strawberry.input(
    description="A compose project to import — pasted `files`, or `gitImportId`: a COMPLETED import from Git "
    "with its analysis and the Secret values found in the repository (one of the two) — into a new DRAFT "
    "workflow (`name`, optionally `workspaceId` and `description`) or appended to an existing workflow "
    "(`workflowId` with `expectedRevision`)."
)
class ImportComposeInput:
    files: list[str] | None = strawberry.field(
        default=None, description="Compose file contents; later ones override. Not with `gitImportId`."
    )
    git_import_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Instead of `files`: a COMPLETED import from Git (`importFromGit`) in your workspaces, "
        "imported with its stored analysis and Secret values (the options given to `importFromGit` apply; "
        "`envFile`, `values`, `namespace`, `serviceType`, `profiles` and `projectFiles` are only for "
        "`files`). A new workflow goes into the import's workspace unless `workspaceId` names another; "
        "write access to the import's workspace is needed. An import still running, FAILED or with several "
        "candidate projects is BAD_INPUT with `extensions.reason` (`RUNNING`, `FAILED`, `SEVERAL_PROJECTS`, "
        "`VALUES_MISSING`) and `extensions.importStatus`.",
    )
    env_file: str | None = strawberry.field(default=None, description="Content of a `.env` file.")
    values: JSON | None = strawberry.field(default=None, description="Variables that win over `.env`.")
    namespace: str | None = strawberry.field(
        default=None,
        description="A new workflow's namespace (default: a DNS-1123 slug of the workspace and workflow "
        "names). When appending: the namespace of the imported nodes, if not the workflow's.",
    )
    service_type: str = strawberry.field(
        default="ClusterIP", description="ClusterIP, NodePort or LoadBalancer for published ports."
    )
    profiles: list[str] | None = strawberry.field(default=None, description="Compose profiles to enable.")
    project_files: list[ProjectFileInput] | None = strawberry.field(
        default=None, description="Other files of the project: env files, configs, includes."
    )
    workspace_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="New workflow: the workspace; by default your personal workspace (with `gitImportId`: "
        "the import's).",
    )
    name: str | None = strawberry.field(
        default=None, description="New workflow: its name (1 to 100 characters)."
    )
    description: str | None = strawberry.field(default=None, description="New workflow: free text.")
    workflow_id: strawberry.ID | None = strawberry.field(
        default=None, description="Append to this workflow instead of creating one."
    )
    expected_revision: int | None = strawberry.field(
        default=None,
        description="With `workflowId`: the revision appended to; a stale one is a CONFLICT with the current "
        "one.",
    )


DEFAULT_SERVICE_TYPE = "ClusterIP"


def import_source(input: ImportComposeInput) -> ComposeSource | GitImportSource:
    """The pasted files or the Git import ``input`` names (exactly one of them)."""
    if input.git_import_id is None:
        if input.files is None:
            raise errors.Invalid.field(
                "files", "give the compose files, or gitImportId: a COMPLETED import from Git"
            )
        return compose_source(
            input.files,
            input.env_file,
            input.values,
            input.namespace,
            input.service_type,
            input.profiles,
            input.project_files,
        )
    files_only = [
        path
        for path, value in (
            ("files", input.files),
            ("envFile", input.env_file),
            ("values", input.values),
            ("namespace", input.namespace),
            ("serviceType", None if input.service_type == DEFAULT_SERVICE_TYPE else input.service_type),
            ("profiles", input.profiles),
            ("projectFiles", input.project_files),
        )
        if value is not None
    ]
    if files_only:
        why = (
            "give either files or gitImportId, not both"
            if "files" in files_only
            else "with gitImportId, the options given to importFromGit apply"
        )
        raise errors.Invalid(
            f"{why} ({', '.join(files_only)})",
            [errors.FieldError(path, "only with files, not with gitImportId") for path in files_only],
        )
    return GitImportSource(str(input.git_import_id))


@strawberry.type(description="The result of `importCompose`.")
class ImportComposePayload:
    workflow: Workflow = strawberry.field(description="The workflow as stored (a new DRAFT, or appended to).")
    imported_node_ids: list[strawberry.ID] = strawberry.field(
        description="Ids of the imported nodes (renamed with a `-2`… suffix where they met existing ids)."
    )
    secrets: list[SecretKeys] = strawberry.field(
        description="Imported Secret nodes and the key names whose values were stored (encrypted, never "
        "shown)."
    )
    warnings: list[ComposeIssue] = strawberry.field(
        description="What was translated with a caveat, or not at all."
    )
    canvas_warnings: list[CanvasProblem] = strawberry.field(
        description="What `saveWorkflow` would report about the stored canvas (e.g. two objects with one "
        "name)."
    )


@strawberry.type
class ImportMutation:
    @strawberry.mutation(
        description="Import Docker Compose files (pasted, or a COMPLETED import from Git) into a new DRAFT "
        "workflow or append them to one; the canvas and the encrypted Secret values are written together or "
        "not at all (no version is created). Compose errors are BAD_INPUT with `extensions.composeErrors` "
        "(code, service, field)."
    )
    async def import_compose(self, info: Info, input: ImportComposeInput) -> ImportComposePayload:
        principal = await info.context.principal()
        source = import_source(input)
        target = ImportTarget(
            workspace_id=input.workspace_id,
            name=input.name,
            description=input.description,
            workflow_id=input.workflow_id,
            expected_revision=input.expected_revision,
        )
        imported = await info.context.services.imports.import_compose(principal, source, target)
        return ImportComposePayload(
            workflow=Workflow.from_domain(imported.workflow),
            imported_node_ids=[strawberry.ID(i) for i in imported.imported_node_ids],
            secrets=[
                SecretKeys(node_id=strawberry.ID(node), keys=keys)
                for node, keys in imported.secret_keys.items()
            ],
            warnings=ComposeIssue.many(imported.warnings),
            canvas_warnings=CanvasProblem.many(imported.canvas_warnings),
        )
