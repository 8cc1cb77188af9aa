"""The schema: every feature's queries and mutations, the limits and the error mapping."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.audit.operations import AuditQuery
from schema.auth.operations import AuthMutation, AuthQuery
from schema.builds.operations import BuildMutation, BuildQuery, BuildSubscription
from schema.clusters.operations import ClusterMutation, ClusterQuery
from schema.data.operations import DataMutation, DataQuery
from schema.documents import DocumentCache
from schema.drift.operations import DriftMutation, DriftQuery
from schema.errors import ErrorCode, apply_code
from schema.files.operations import FileMutation, FileQuery
from schema.git.operations import GitMutation, GitQuery
from schema.git_imports.operations import GitImportMutation, GitImportQuery, GitImportSubscription
from schema.imports import ImportMutation, ImportQuery
from schema.inventory.operations import InventoryQuery
from schema.kinds.operations import KindQuery
from schema.live.diagnosis import DiagnosisMutation, DiagnosisQuery
from schema.live.subscriptions import LiveSubscription
from schema.live.terminals import TerminalMutation
from schema.manifests.operations import ManifestQuery
from schema.people.operations import PeopleMutation, PeopleQuery
from schema.presence.operations import PresenceMutation, PresenceSubscription
from schema.registries.operations import RegistryMutation, RegistryQuery
from schema.runs.operations import RunMutation, RunQuery, RunSubscription
from schema.secrets.operations import SecretMutation, SecretQuery
from schema.triggers.operations import TriggerMutation, TriggerQuery
from schema.versions.operations import VersionMutation, VersionQuery
from schema.workflows.operations import WorkflowMutation, WorkflowQuery
from schema.workspaces.invitations import InvitationMutation, InvitationQuery
from schema.workspaces.operations import WorkspaceMutation, WorkspaceQuery

log = logging.getLogger("trellis.graphql")


@strawberry.type(description="Read operations. All but introspection need a signed-in user.")
class Query(
    AuthQuery,
    WorkspaceQuery,
    InvitationQuery,
    PeopleQuery,
    WorkflowQuery,
    FileQuery,
    DataQuery,
    SecretQuery,
    VersionQuery,
    KindQuery,
    ClusterQuery,
    RegistryQuery,
    GitQuery,
    GitImportQuery,
    RunQuery,
    TriggerQuery,
    ManifestQuery,
    DiagnosisQuery,
    DriftQuery,
    InventoryQuery,
    ImportQuery,
    BuildQuery,
    AuditQuery,
):
    pass


@strawberry.type(
    description="Operations that change state. All but `register`, `login` and `refreshToken` need a sign-in."
)
class Mutation(
    AuthMutation,
    WorkspaceMutation,
    InvitationMutation,
    PeopleMutation,
    WorkflowMutation,
    FileMutation,
    DataMutation,
    SecretMutation,
    VersionMutation,
    ClusterMutation,
    RegistryMutation,
    GitMutation,
    GitImportMutation,
    RunMutation,
    TriggerMutation,
    TerminalMutation,
    DiagnosisMutation,
    DriftMutation,
    PresenceMutation,
    ImportMutation,
    BuildMutation,
):
    pass


@dataclass(frozen=True, slots=True)
class SchemaLimits:
    """Per-operation limits (from settings); introspection counts against tokens and aliases."""

    max_depth: int = 12
    max_tokens: int = 5_000
    max_aliases: int = 30
    max_batch_operations: int = 10
    document_cache_size: int = 512


class TrellisSchema(strawberry.Schema):
    def process_errors(
        self,
        errors: list[GraphQLError],
        execution_context: ExecutionContext | None = None,
    ) -> None:
        """Give every error its code (``schema.errors.apply_code``). Expected failures are results, not
        server errors: they are logged quietly; unexpected ones are logged with their stack and masked."""
        request_id = getattr(execution_context.context if execution_context else None, "request_id", "-")
        for error in errors:
            apply_code(error, request_id)
            log.debug("operation error: %s", error.message)


@strawberry.type(
    description='Live streams. Authenticate in `connection_init` with `{"Authorization": "Bearer …"}`.'
)
class Subscription(
    LiveSubscription, GitImportSubscription, BuildSubscription, RunSubscription, PresenceSubscription
):
    pass


def build_schema(
    limits: SchemaLimits | None = None, *, observers: Sequence[Callable[[], SchemaExtension]] = ()
) -> strawberry.Schema:
    """The schema with ``limits``; ``observers`` are extension factories that watch every operation
    (metrics, tracing) and run first, so they also see the operations the limits refuse."""
    limits = limits or SchemaLimits()
    return TrellisSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[ErrorCode],
        config=StrawberryConfig(batching_config={"max_operations": limits.max_batch_operations}),
        extensions=[
            *observers,
            lambda: QueryDepthLimiter(max_depth=limits.max_depth),
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            lambda: MaxAliasesLimiter(max_alias_count=limits.max_aliases),
            lambda: DocumentCache(maxsize=limits.document_cache_size),
            lambda: ValidationCache(maxsize=limits.document_cache_size),
        ],
    )
