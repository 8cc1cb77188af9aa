"""`analyzeCompose`: what a Docker Compose project would become, with nothing written."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app import errors
from app.compose import ComposeAnalysis, ComposeProblem
from app.services.imports import ComposeSource
from schema.context import Info
from schema.runs.types import SecretKeys
from schema.workflows.types import CanvasEdge, CanvasNode


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
