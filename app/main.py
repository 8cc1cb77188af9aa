"""The composition root: ``create_app(settings)`` wires adapters, services and routes together."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import TypedDict

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from app.clock import SystemClock
from app.events.bus import Backoff
from app.events.opening import open_event_bus
from app.flows.ai_agent import AiAgentExecutor
from app.git import GitCli
from app.http import data, graphiql, health, hooks, oauth, step_outputs, terminal
from app.http import metrics as metrics_route
from app.http.middleware import BodyLimit, RequestId, WebSocketOrigins
from app.http.origin import RequestOrigins
from app.kube.gateway import KubeGateway
from app.kube.status import assess
from app.kube.tracking import KubeLiveTracker
from app.kube.watching import WatchSettings
from app.observability.metrics import Metrics
from app.observability.operations import operation_metrics
from app.observability.statuses import counting_statuses
from app.observability.tracing import start_tracing
from app.observability.watches import MeteredPools
from app.ports import Clock
from app.registry import HttpRegistryClient, RegistryEndpoints
from app.rendering import ManifestRenderer, default_templates_dir
from app.services.container import Deliveries, Services, build_services
from app.services.live_status import renew_forever
from app.services.tasks import TaskSupervisor
from app.services.trigger_schedule import schedule_forever
from app.settings import Settings, with_development_secrets
from app.store.opening import open_store
from schema.root import SchemaLimits, build_schema
from schema.view import GraphQLView

log = logging.getLogger(__name__)

GRAPHQL_PATH = "/graphql"
GRAPHIQL_ASSETS_PATH = "/graphiql-assets"


class State(TypedDict):
    services: Services


async def _sweep_forever(services: Services, every_seconds: float) -> None:
    """Runs whose server died are marked INTERRUPTED within one lease, even if no server restarts."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            interrupted = await services.runs.sweep()
        except Exception:
            log.exception("sweeping stale runs failed; trying again in %s s", every_seconds)
            continue
        for run in interrupted:
            log.warning(
                "run %s of workflow %s was left RUNNING by a stopped server: INTERRUPTED",
                run.id,
                run.workflow_id,
            )


async def _refresh_pull_secrets_forever(services: Services, every_seconds: float) -> None:
    """Image pull Secrets whose credentials expire (ECR tokens) are re-applied before they do."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            refreshed = await services.pull_secrets.refresh_due()
        except Exception:
            log.exception("refreshing image pull Secrets failed; trying again in %s s", every_seconds)
            continue
        if refreshed:
            log.info("refreshed %d image pull Secret(s) before their credentials expire", refreshed)


async def _maintain_builds_forever(services: Services, every_seconds: float) -> None:
    """Builds left by a stopped server are taken over, queued builds started (also those queued by other
    server processes), Secrets that could not be deleted cleaned up; first at once, then periodically."""
    while True:
        await services.builds.maintain()
        await asyncio.sleep(every_seconds)


async def _drive_flow_runs_forever(services: Services, every_seconds: float) -> None:
    """Flow runs no live server drives (let go by a server that stopped, or with a stale heartbeat) are
    claimed and driven on from where they stand; first at once, then periodically."""
    while True:
        try:
            await services.flow_runs.resume()
        except Exception:
            log.exception("claiming flow runs failed; trying again in %s s", every_seconds)
        await asyncio.sleep(every_seconds)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, deliveries: Deliveries | None = None
) -> Starlette:
    """The whole server; ``deliveries`` replaces the log-only delivery of invitations and resets."""
    settings = settings or Settings()
    clock = clock or SystemClock()
    metrics = Metrics()
    tracing = start_tracing(settings.otel_enabled)  # without the `otel` extra: a clear error, at start
    observers = [operation_metrics(metrics), *([tracing.extension] if tracing else [])]
    schema = build_schema(
        SchemaLimits(
            max_depth=settings.max_query_depth,
            max_tokens=settings.max_query_tokens,
            max_aliases=settings.max_aliases,
            max_batch_operations=settings.max_batch_operations,
            document_cache_size=settings.document_cache_size,
        ),
        observers=observers,
    )
    page = graphiql.graphiql_page(graphql_path=GRAPHQL_PATH, assets_path=GRAPHIQL_ASSETS_PATH)
    view = GraphQLView(
        schema,
        ide_page=lambda: page,
        connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_seconds),
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[State]:
        effective = with_development_secrets(settings)
        async with AsyncExitStack() as stack:
            store = await open_store(effective.resolved_store_url)
            stack.push_async_callback(store.close)
            if tracing is not None:
                stack.callback(tracing.shutdown)  # the last spans are sent after everything else stopped
            store = counting_statuses(store, metrics)  # run and build status changes, for /metrics
            bus = await stack.enter_async_context(
                open_event_bus(
                    effective.broadcast_url,
                    queue_size=effective.subscriber_queue_size,
                    reconnect_backoff=Backoff(
                        first=effective.broadcast_reconnect_first_seconds,
                        cap=effective.broadcast_reconnect_max_seconds,
                        jitter=0.2,
                    ),
                    clock=clock,
                )
            )
            tasks = TaskSupervisor()
            services = build_services(
                settings=effective,
                store=store,
                clock=clock,
                gateway=KubeGateway(),
                assess=assess,
                renderer=ManifestRenderer(default_templates_dir()),
                bus=bus,
                tasks=tasks,
                owner=f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
                deliveries=deliveries,
                cloner=GitCli(work_dir=effective.git_clone_dir, allow_http=effective.git_allow_http),
                registry_client=lambda guard: HttpRegistryClient(
                    guard=guard,
                    clock=clock,
                    endpoints=RegistryEndpoints(
                        ecr=effective.registry_ecr_endpoint,
                        google_token=effective.registry_google_token_url,
                        azure_authority=effective.registry_azure_authority,
                    ),
                    timeout_seconds=effective.registry_timeout_seconds,
                    ca_file=effective.registry_ca_file,
                ),
                step_executors={
                    "AiAgent": lambda guard, secrets: AiAgentExecutor(
                        guard, secrets, max_response_bytes=effective.flow_http_response_max_bytes
                    )
                },
            )
            pools = MeteredPools(metrics)  # watch events and running watches, for /metrics
            metrics.count_watches_with(pools.watch_count)
            tracker = KubeLiveTracker(
                services.live,
                pool_factory=pools,
                watch_settings=WatchSettings(
                    backoff_initial_seconds=effective.watch_backoff_first_seconds,
                    backoff_max_seconds=effective.watch_backoff_max_seconds,
                ),
            )
            services.live.attach(tracker)

            async def stop_background_work() -> None:
                """After Uvicorn closed every subscription (1012) and let in-flight requests finish."""
                await tasks.close()  # runs stop between waves (INTERRUPTED), lease renewal ends
                try:  # flow runs stay RUNNING (their Jobs run on): another server process drives them on
                    await services.flow_runs.release()
                except Exception:
                    log.exception("letting go of flow runs failed; others take them over after the lease")
                try:  # build Jobs run on: another replica follows them at its next queue round
                    await services.builds.release()
                except Exception:
                    log.exception("letting go of builds failed; others take them over after the lease")
                try:
                    await services.live.close()  # gives the watch leases back, so another replica takes over
                finally:
                    await tracker.close()  # every watch of every cluster, even if the store failed

            stack.push_async_callback(stop_background_work)  # before the bus and the store close
            await services.runs.sweep()
            await services.git_imports.sweep()  # imports left unfinished by a server that stopped
            await services.live.start()
            tasks.spawn(
                "watch-lease-renewal", renew_forever(services.live, effective.watch_lease_seconds / 3)
            )
            tasks.spawn("stale-run-sweeper", _sweep_forever(services, effective.run_lease_seconds / 2))
            tasks.spawn(
                "pull-secret-refresh",
                _refresh_pull_secrets_forever(services, effective.registry_refresh_interval_seconds),
            )
            tasks.spawn("build-queue", _maintain_builds_forever(services, effective.run_lease_seconds / 2))
            tasks.spawn("flow-runs", _drive_flow_runs_forever(services, effective.run_lease_seconds / 2))
            tasks.spawn(
                "trigger-schedule",
                schedule_forever(services.trigger_schedule, effective.trigger_schedule_interval_seconds),
            )
            log.info("Trellis is ready: GraphiQL at %s%s", effective.resolved_public_url, GRAPHQL_PATH)
            yield {"services": services}

    routes: list[BaseRoute] = [
        *health.routes(),
        *metrics_route.routes(metrics, token=settings.metrics_token.get_secret_value()),
        *terminal.routes(),
        *step_outputs.routes(),
        *data.routes(),
        *hooks.routes(),
        *oauth.routes(),
        Route(GRAPHQL_PATH, view, methods=["GET", "POST"]),
        WebSocketRoute(GRAPHQL_PATH, view),
        Mount(GRAPHIQL_ASSETS_PATH, app=graphiql.graphiql_assets_app(), name="graphiql-assets"),
    ]
    allowed_origins = [settings.resolved_public_url, settings.frontend_url, *settings.websocket_origins]
    middleware = [
        Middleware(RequestId),
        Middleware(RequestOrigins, trusted_proxies=settings.trusted_proxies),
        Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
        Middleware(WebSocketOrigins, allowed=allowed_origins),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "x-request-id"],
            )
        )
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
