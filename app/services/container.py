"""The services of one running server, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.auth.keyring import Keyring
from app.auth.passwords import PasswordHasher
from app.auth.tokens import TokenCodec
from app.ports import Clock, ClusterGateway, EventBus, Renderer, Store
from app.services.auditing import Auditor
from app.services.clusters import ClusterService
from app.services.diagnosing import DiagnosisService
from app.services.identity import IdentityPolicy, IdentityService
from app.services.imports import ImportService
from app.services.live_status import LiveStatusService
from app.services.paging import PageRules
from app.services.people import PeopleService
from app.services.pod_logs import PodLogService
from app.services.previews import PreviewService
from app.services.readiness import ReadinessService
from app.services.run_executor import RunExecutor
from app.services.runs import RunService, RunTiming
from app.services.secret_values import SecretValueService
from app.services.streams import StreamService
from app.services.tasks import TaskSupervisor
from app.services.teardown import Teardown
from app.services.terminals import TerminalService
from app.services.versions import VersionService
from app.services.workflows import WorkflowService
from app.services.workspaces import WorkspaceService
from app.settings import Settings


@dataclass(frozen=True, slots=True)
class Services:
    identity: IdentityService
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
    imports: ImportService


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
) -> Services:
    """Every service of one server process; ``owner`` names this process in the runs it executes."""
    auditor = Auditor(log=store, clock=clock)
    keyring = Keyring.from_setting(settings.encryption_keys.get_secret_value())
    timeout = settings.cluster_timeout_seconds
    secret_values = SecretValueService(store=store, keyring=keyring, clock=clock, auditor=auditor)
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
        on_finished=live.follow,
    )
    paging = PageRules(default_size=settings.page_size_default, max_size=settings.page_size_max)
    identity = IdentityService(
        store=store,
        hasher=PasswordHasher(rounds=settings.bcrypt_rounds),
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
    )
    workflows = WorkflowService(
        store=store,
        clock=clock,
        auditor=auditor,
        paging=paging,
        teardown=Teardown(store=store, gateway=gateway, keyring=keyring, timeout_seconds=timeout),
    )
    return Services(
        identity=identity,
        people=PeopleService(store=store),
        workspaces=WorkspaceService(store=store, clock=clock, auditor=auditor, principals=identity.cache),
        workflows=workflows,
        versions=VersionService(store=store, clock=clock, auditor=auditor, paging=paging),
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
        ),
        runs=RunService(
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
        ),
        streams=StreamService(
            store=store, bus=bus, clock=clock, recheck_seconds=settings.subscription_recheck_seconds
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
        diagnosis=DiagnosisService(store=store, workflows=workflows),
        imports=ImportService(),
    )
