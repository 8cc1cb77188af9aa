"""The services of one running server, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.auth.passwords import PasswordHasher
from app.auth.tokens import TokenCodec
from app.ports import Clock, Store
from app.services.auditing import Auditor
from app.services.identity import IdentityPolicy, IdentityService
from app.services.paging import PageRules
from app.services.people import PeopleService
from app.services.readiness import ReadinessService
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


def build_services(*, settings: Settings, store: Store, clock: Clock) -> Services:
    auditor = Auditor(log=store, clock=clock)
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
    return Services(
        identity=identity,
        people=PeopleService(store=store),
        workspaces=WorkspaceService(store=store, clock=clock, auditor=auditor, principals=identity.cache),
        workflows=WorkflowService(store=store, clock=clock, auditor=auditor, paging=paging),
        versions=VersionService(store=store, clock=clock, auditor=auditor, paging=paging),
        readiness=ReadinessService(store=store),
    )
