"""The services of one running server, built once by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from app.auth.keyring import Keyring
from app.auth.oauth import AuthlibOAuthGateway
from app.auth.opaque_tokens import API_TOKEN_PREFIX
from app.auth.passwords import PasswordHasher
from app.auth.step_tokens import StepTokenCodec
from app.auth.tokens import TokenCodec
from app.domain.build_jobs import BuildJobSettings, BuildResources
from app.domain.flows.steps import DATA_PATH, STEP_OUTPUT_PATH
from app.domain.runs import Run
from app.domain.triggers import HOOK_PATH
from app.flows.function_job import FunctionJobSettings, KubernetesFunctionExecutor
from app.flows.local_function import LocalFunctionExecutor
from app.flows.steps import in_process_executors
from app.net.egress import EgressGuard, EgressPolicy
from app.ports import (
    Clock,
    CloneLimits,
    ClusterGateway,
    EventBus,
    GitCloner,
    ObjectAssessor,
    RegistryClient,
    Renderer,
    StepExecutor,
    Store,
    WorkspaceSecretReader,
)
from app.services.api_tokens import ApiTokenService
from app.services.auditing import Auditor, AuditTrail
from app.services.build_executor import BuildExecutor, BuildRunSettings
from app.services.builds import BuildQueueSettings, BuildService
from app.services.clusters import ClusterService
from app.services.data_collections import DataService
from app.services.diagnosing import DiagnosisService
from app.services.drift import DriftService
from app.services.files import FileService
from app.services.flow_clusters import FlowClusterSessions
from app.services.flow_engine import FlowEngine, FlowEngineSettings
from app.services.flow_runs import FlowRunService, FlowRunSettings
from app.services.git_credentials import GitCredentialService
from app.services.git_imports import GitImportService, GitImportSettings
from app.services.identity import IdentityPolicy, IdentityService
from app.services.imports import ImportService
from app.services.inventory import InventoryService
from app.services.invitations import InvitationNotifier, InvitationService, LogInvitationNotifier
from app.services.live_status import LiveStatusService
from app.services.oauth_signin import OAuthSignIn, OAuthTiming
from app.services.paging import PageRules
from app.services.passwords import LogPasswordResetNotifier, PasswordResetNotifier, PasswordService
from app.services.people import PeopleService
from app.services.pod_logs import PodLogService
from app.services.presence import PresenceService, SaveNotices
from app.services.previews import PreviewService
from app.services.pull_secrets import PullSecretService
from app.services.readiness import ReadinessService
from app.services.registries import RegistryService
from app.services.run_executor import RunExecutor
from app.services.runs import RunService, RunTiming
from app.services.secret_values import SecretValueService
from app.services.sessions import SessionService
from app.services.signup import SignupPolicy, SignupRules
from app.services.step_outputs import StepOutputService
from app.services.streams import StreamService
from app.services.tasks import TaskSupervisor
from app.services.teardown import Teardown
from app.services.terminals import TerminalService
from app.services.trigger_schedule import TriggerSchedule
from app.services.triggers import TriggerService, TriggerSettings
from app.services.versions import VersionService
from app.services.workflows import WorkflowService
from app.services.workspace_secrets import WorkspaceSecretService
from app.services.workspaces import WorkspaceService
from app.settings import Settings

StepExecutorFactory = Callable[[EgressGuard, WorkspaceSecretReader], StepExecutor]
"""Builds a flow step executor around the server's egress guard and workspace secrets reader."""


@dataclass(frozen=True, slots=True)
class Deliveries:
    """How invitations and password reset tokens reach people (log-only by default; tests capture)."""

    invitations: InvitationNotifier
    password_resets: PasswordResetNotifier


@dataclass(frozen=True, slots=True)
class Services:
    identity: IdentityService
    oauth: OAuthSignIn
    people: PeopleService
    workspaces: WorkspaceService
    workflows: WorkflowService
    versions: VersionService
    readiness: ReadinessService
    clusters: ClusterService
    secret_values: SecretValueService
    previews: PreviewService
    runs: RunService
    streams: StreamService
    terminals: TerminalService
    live: LiveStatusService
    pod_logs: PodLogService
    diagnosis: DiagnosisService
    inventory: InventoryService
    drift: DriftService
    presence: PresenceService
    imports: ImportService
    egress: EgressGuard
    git_credentials: GitCredentialService
    git_imports: GitImportService
    registries: RegistryService
    pull_secrets: PullSecretService
    builds: BuildService
    audit: AuditTrail
    sessions: SessionService
    api_tokens: ApiTokenService
    invitations: InvitationService
    passwords: PasswordService
    files: FileService
    data: DataService
    workspace_secrets: WorkspaceSecretService
    step_outputs: StepOutputService
    flow_runs: FlowRunService
    triggers: TriggerService
    trigger_schedule: TriggerSchedule


def build_services(
    *,
    settings: Settings,
    store: Store,
    clock: Clock,
    gateway: ClusterGateway,
    renderer: Renderer,
    bus: EventBus,
    tasks: TaskSupervisor,
    owner: str,
    cloner: GitCloner,
    registry_client: Callable[[EgressGuard], RegistryClient],
    assess: ObjectAssessor,
    deliveries: Deliveries | None = None,
    step_executors: Mapping[str, StepExecutorFactory] | None = None,
) -> Services:
    """Every service of one server process; ``owner`` names this process in the runs it executes;
    ``registry_client`` builds the registry adapter around the egress guard made here;
    ``step_executors`` build the flow step executors the composition root adds (by kind: the AiAgent's,
    whose Jinja2 sandbox services may not import) around the egress guard and the secrets reader;
    ``assess`` is the health check of cluster objects (``app.kube.status.assess``)."""
    auditor = Auditor(log=store, clock=clock)
    keyring = Keyring.from_setting(settings.encryption_keys.get_secret_value())
    egress = EgressGuard(
        EgressPolicy(
            allow_loopback=settings.egress_allow_loopback,
            allow_private=settings.egress_allow_private,
            allow_link_local=settings.egress_allow_link_local,
        ),
        resolve_timeout_seconds=settings.egress_resolve_timeout_seconds,
    )
    git_credentials = GitCredentialService(store=store, keyring=keyring, clock=clock, auditor=auditor)
    timeout = settings.cluster_timeout_seconds
    registries = registry_client(egress)
    pull_secrets = PullSecretService(
        store=store,
        client=registries,
        gateway=gateway,
        keyring=keyring,
        clock=clock,
        timeout_seconds=timeout,
        refresh_margin=timedelta(seconds=settings.registry_refresh_margin_seconds),
    )
    secret_values = SecretValueService(store=store, keyring=keyring, clock=clock, auditor=auditor)
    step_tokens = StepTokenCodec(secret=settings.jwt_secret.get_secret_value(), now=clock.now)
    workspace_secrets = WorkspaceSecretService(store=store, keyring=keyring, clock=clock, auditor=auditor)
    flow_runs = _flow_runs(
        settings,
        store,
        clock,
        bus,
        tasks,
        owner,
        egress,
        keyring,
        gateway,
        step_tokens,
        workspace_secrets,
        step_executors=step_executors,
    )
    triggers = TriggerService(
        store=store,
        flow_runs=flow_runs,
        keyring=keyring,
        clock=clock,
        auditor=auditor,
        settings=TriggerSettings(
            tolerance=timedelta(seconds=settings.webhook_timestamp_tolerance_seconds),
            max_body_bytes=settings.webhook_max_body_bytes,
            rate_per_minute=settings.webhook_rate_per_minute,
            hook_url=settings.resolved_public_url.rstrip("/") + HOOK_PATH,
        ),
    )
    flow_runs.when_finished(triggers.run_finished)
    live = LiveStatusService(
        store=store,
        bus=bus,
        keyring=keyring,
        clock=clock,
        owner=owner,
        lease_ttl=timedelta(seconds=settings.watch_lease_seconds),
    )
    executor = RunExecutor(
        store=store,
        gateway=gateway,
        renderer=renderer,
        clock=clock,
        timeout_seconds=timeout,
        heartbeat_seconds=settings.run_heartbeat_seconds,
        max_log_lines=settings.run_log_lines_max,
        bus=bus,
        waiter=live,
        dependency_timeout_seconds=settings.run_dependency_timeout_seconds,
        on_finished=_after_deploy(live, triggers),
    )
    paging = PageRules(default_size=settings.page_size_default, max_size=settings.page_size_max)
    builds = BuildService(
        store=store,
        executor=BuildExecutor(
            store=store,
            gateway=gateway,
            keyring=keyring,
            logins=pull_secrets,
            git=git_credentials,
            bus=bus,
            clock=clock,
            settings=BuildRunSettings(
                job=BuildJobSettings(
                    namespace=settings.build_namespace,
                    clone_image=settings.build_clone_image,
                    buildkit_image=settings.build_buildkit_image,
                    nixpacks_image=settings.build_nixpacks_image or None,
                    resources=BuildResources(
                        cpu_request=settings.build_cpu_request,
                        cpu_limit=settings.build_cpu_limit,
                        memory_request=settings.build_memory_request,
                        memory_limit=settings.build_memory_limit,
                    ),
                    timeout_seconds=settings.build_timeout_seconds,
                    retention_seconds=settings.build_retention_seconds,
                    allow_http=settings.git_allow_http,
                ),
                cluster_timeout_seconds=timeout,
                poll_seconds=settings.build_poll_seconds,
                drain_seconds=settings.build_log_drain_seconds,
                heartbeat_seconds=settings.run_heartbeat_seconds,
                max_log_lines=settings.build_log_lines_max,
            ),
        ),
        guard=egress,
        bus=bus,
        tasks=tasks,
        clock=clock,
        auditor=auditor,
        paging=paging,
        settings=BuildQueueSettings(
            per_workspace=settings.build_concurrency_per_workspace,
            per_cluster=settings.build_concurrency_per_cluster,
            lease_seconds=settings.run_lease_seconds,
            allow_http=settings.git_allow_http,
            nixpacks=bool(settings.build_nixpacks_image),
            recheck_seconds=settings.subscription_recheck_seconds,
        ),
        owner=owner,
    )
    hasher = PasswordHasher(rounds=settings.bcrypt_rounds)
    identity = IdentityService(
        store=store,
        hasher=hasher,
        tokens=TokenCodec(
            secret=settings.jwt_secret.get_secret_value(), ttl=timedelta(seconds=settings.token_ttl_seconds)
        ),
        clock=clock,
        auditor=auditor,
        policy=IdentityPolicy(
            refresh_max_age=timedelta(seconds=settings.refresh_max_age_seconds),
            session_cache_seconds=settings.session_cache_seconds,
            min_password_length=settings.min_password_length,
        ),
        signup=SignupPolicy(
            SignupRules(
                password_login=settings.password_login_enabled,
                password_signup=settings.signup_enabled,
                allowed_domains=tuple(d.lower() for d in settings.signup_allowed_domains),
                requires_invitation=settings.signup_requires_invitation,
            )
        ),
    )
    api_tokens = ApiTokenService(
        store=store,
        clock=clock,
        auditor=auditor,
        principals=identity.cache,
        touch_every=timedelta(seconds=settings.api_token_touch_seconds),
    )
    identity.accept_bearer(API_TOKEN_PREFIX, api_tokens.authenticate)
    deliveries = deliveries or Deliveries(
        invitations=LogInvitationNotifier(log_links=settings.invitation_log_links),
        password_resets=LogPasswordResetNotifier(),
    )
    front_end = (settings.frontend_url or settings.resolved_public_url).rstrip("/")
    save_notices = SaveNotices(bus=bus, clock=clock)
    workflows = WorkflowService(
        store=store,
        clock=clock,
        auditor=auditor,
        paging=paging,
        teardown=Teardown(
            store=store, gateway=gateway, keyring=keyring, timeout_seconds=timeout, pull_secrets=pull_secrets
        ),
        on_saved=save_notices,
    )
    invitations = InvitationService(
        store=store,
        clock=clock,
        auditor=auditor,
        principals=identity.cache,
        notifier=deliveries.invitations,
        ttl=timedelta(seconds=settings.invitation_ttl_seconds),
        accept_url=f"{front_end}/invitations/accept",
    )
    identity.signup.use_invitations(invitations)
    oauth = OAuthSignIn(
        providers=settings.providers,
        gateway=AuthlibOAuthGateway(
            guard=egress, clock=clock, timeout_seconds=settings.oauth_timeout_seconds
        ),
        store=store,
        identity=identity,
        clock=clock,
        auditor=auditor,
        public_url=settings.resolved_public_url,
        frontend_url=front_end,
        timing=OAuthTiming(
            state_ttl=timedelta(seconds=settings.oauth_state_seconds),
            code_ttl=timedelta(seconds=settings.oauth_code_seconds),
        ),
    )
    runs = RunService(
        store=store,
        executor=executor,
        renderer=renderer,
        secrets=secret_values,
        keyring=keyring,
        tasks=tasks,
        clock=clock,
        auditor=auditor,
        paging=paging,
        timing=RunTiming(
            heartbeat=timedelta(seconds=settings.run_heartbeat_seconds),
            lease=timedelta(seconds=settings.run_lease_seconds),
        ),
        owner=owner,
        pull_secrets=pull_secrets,
        flows=flow_runs,
    )
    return Services(
        identity=identity,
        people=PeopleService(
            store=store, clock=clock, auditor=auditor, principals=identity.cache, paging=paging
        ),
        sessions=SessionService(store=store, clock=clock, auditor=auditor, principals=identity.cache),
        api_tokens=api_tokens,
        invitations=invitations,
        oauth=oauth,
        passwords=PasswordService(
            store=store,
            hasher=hasher,
            clock=clock,
            auditor=auditor,
            principals=identity.cache,
            notifier=deliveries.password_resets,
            min_length=settings.min_password_length,
            reset_ttl=timedelta(seconds=settings.password_reset_ttl_seconds),
            reset_url=f"{front_end}/password/reset",
        ),
        workspaces=WorkspaceService(store=store, clock=clock, auditor=auditor, principals=identity.cache),
        workflows=workflows,
        files=FileService(store=store, clock=clock, auditor=auditor, max_bytes=settings.files_max_bytes),
        data=DataService(
            store=store,
            clock=clock,
            auditor=auditor,
            tokens=step_tokens,
            paging=paging,
            max_record_bytes=settings.data_record_max_bytes,
        ),
        workspace_secrets=workspace_secrets,
        flow_runs=flow_runs,
        triggers=triggers,
        trigger_schedule=TriggerSchedule(
            store=store,
            triggers=triggers,
            clock=clock,
            grace=timedelta(seconds=settings.trigger_schedule_grace_seconds),
        ),
        step_outputs=StepOutputService(
            store=store,
            tokens=step_tokens,
            clock=clock,
            auditor=auditor,
            max_output_bytes=settings.flow_output_max_bytes,
        ),
        versions=VersionService(
            store=store, clock=clock, auditor=auditor, paging=paging, on_saved=save_notices
        ),
        readiness=ReadinessService(store=store),
        clusters=ClusterService(
            store=store,
            gateway=gateway,
            keyring=keyring,
            clock=clock,
            auditor=auditor,
            timeout_seconds=timeout,
        ),
        secret_values=secret_values,
        previews=PreviewService(
            store=store,
            renderer=renderer,
            secrets=secret_values,
            gateway=gateway,
            keyring=keyring,
            timeout_seconds=timeout,
            pull_secrets=pull_secrets,
        ),
        runs=runs,
        drift=DriftService(
            store=store,
            renderer=renderer,
            secrets=secret_values,
            gateway=gateway,
            keyring=keyring,
            clock=clock,
            auditor=auditor,
            runs=runs,
            timeout_seconds=timeout,
            pull_secrets=pull_secrets,
        ),
        streams=StreamService(
            store=store, bus=bus, clock=clock, recheck_seconds=settings.subscription_recheck_seconds
        ),
        presence=PresenceService(
            store=store,
            bus=bus,
            clock=clock,
            auditor=auditor,
            owner=owner,
            ttl_seconds=settings.presence_ttl_seconds,
            recheck_seconds=settings.subscription_recheck_seconds,
        ),
        terminals=TerminalService(
            store=store,
            gateway=gateway,
            keyring=keyring,
            clock=clock,
            auditor=auditor,
            ticket_ttl=timedelta(seconds=settings.exec_ticket_seconds),
            timeout_seconds=timeout,
        ),
        live=live,
        pod_logs=PodLogService(store=store, gateway=gateway, keyring=keyring, timeout_seconds=timeout),
        diagnosis=DiagnosisService(store=store, workflows=workflows, auditor=auditor),
        inventory=InventoryService(
            store=store,
            gateway=gateway,
            keyring=keyring,
            clock=clock,
            assess=assess,
            paging=paging,
            timeout_seconds=timeout,
            cache_seconds=settings.inventory_cache_seconds,
        ),
        egress=egress,
        git_credentials=git_credentials,
        git_imports=GitImportService(
            store=store,
            cloner=cloner,
            guard=egress,
            credentials=git_credentials,
            bus=bus,
            tasks=tasks,
            clock=clock,
            auditor=auditor,
            keyring=keyring,
            settings=GitImportSettings(
                limits=CloneLimits(
                    timeout_seconds=settings.git_clone_timeout_seconds,
                    max_bytes=settings.git_max_repo_bytes,
                    max_files=settings.git_max_files,
                ),
                allow_http=settings.git_allow_http,
                recheck_seconds=settings.subscription_recheck_seconds,
            ),
        ),
        imports=ImportService(
            store=store, keyring=keyring, clock=clock, auditor=auditor, workflows=workflows
        ),
        registries=RegistryService(
            store=store,
            client=registries,
            guard=egress,
            keyring=keyring,
            clock=clock,
            auditor=auditor,
            allow_insecure=settings.registry_allow_insecure,
            pull_secrets=pull_secrets,
        ),
        pull_secrets=pull_secrets,
        builds=builds,
        audit=AuditTrail(store=store, paging=paging),
    )


def _after_deploy(live: LiveStatusService, triggers: TriggerService) -> Callable[[Run], Awaitable[None]]:
    """After a deploy run: follow what it deployed, then fire the RUN_COMPLETED triggers watching it."""

    async def finished(run: Run) -> None:
        try:
            await live.follow(run)
        finally:
            await triggers.run_finished(run)

    return finished


def _flow_runs(
    settings: Settings,
    store: Store,
    clock: Clock,
    bus: EventBus,
    tasks: TaskSupervisor,
    owner: str,
    egress: EgressGuard,
    keyring: Keyring,
    gateway: ClusterGateway,
    step_tokens: StepTokenCodec,
    secrets: WorkspaceSecretReader,
    *,
    step_executors: Mapping[str, StepExecutorFactory] | None = None,
) -> FlowRunService:
    """The flow engine with its executors (Function steps in the flow's cluster, or locally when
    ``TRELLIS_FLOW_EXECUTOR=local``) and the service driving flow runs."""
    executors: dict[str, StepExecutor] = dict(
        in_process_executors(
            egress, max_response_bytes=settings.flow_http_response_max_bytes, secrets=secrets
        )
    )
    executors.update({kind: build(egress, secrets) for kind, build in (step_executors or {}).items()})
    if settings.flow_executor == "local":
        executors["Function"] = LocalFunctionExecutor(
            store,
            max_output_bytes=settings.flow_output_max_bytes,
            secrets=secrets,
            tokens=step_tokens,
            data_url=settings.resolved_public_url + DATA_PATH,
        )
        cluster_kinds: frozenset[str] = frozenset()
    else:
        executors["Function"] = KubernetesFunctionExecutor(
            sessions=FlowClusterSessions(
                store=store,
                keyring=keyring,
                gateway=gateway,
                timeout_seconds=settings.cluster_timeout_seconds,
            ),
            files=store,
            outputs=store,
            tokens=step_tokens,
            clock=clock,
            secrets=secrets,
            settings=FunctionJobSettings(
                images={
                    "python": settings.flow_image_python,
                    "node": settings.flow_image_node,
                    "bash": settings.flow_image_bash,
                },
                output_url=settings.resolved_public_url + STEP_OUTPUT_PATH,
                data_url=settings.resolved_public_url + DATA_PATH,
                poll_seconds=settings.flow_job_poll_seconds,
                ttl_seconds_after_finished=settings.flow_job_ttl_seconds,
                scratch_size=settings.flow_scratch_size,
                cluster_timeout_seconds=settings.cluster_timeout_seconds,
                max_output_bytes=settings.flow_output_max_bytes,
            ),
        )
        cluster_kinds = frozenset({"Function"})
    engine = FlowEngine(
        store=store,
        clock=clock,
        bus=bus,
        executors=executors,
        settings=FlowEngineSettings(
            concurrency=settings.flow_step_concurrency,
            workspace_concurrency=settings.flow_workspace_concurrency,
            max_output_bytes=settings.flow_output_max_bytes,
            heartbeat_seconds=settings.run_heartbeat_seconds,
            max_log_lines=settings.run_log_lines_max,
            max_step_log_lines=settings.flow_step_log_lines_max,
        ),
    )
    return FlowRunService(
        store=store,
        engine=engine,
        bus=bus,
        tasks=tasks,
        clock=clock,
        owner=owner,
        settings=FlowRunSettings(
            lease=timedelta(seconds=settings.run_lease_seconds),
            cluster_kinds=cluster_kinds,
            recheck_seconds=settings.subscription_recheck_seconds,
        ),
    )
