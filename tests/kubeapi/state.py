"""Everything one test server holds: the store, the API verbs, logs, exec handlers and test switches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from .discovery import DEFAULT_VERSION, Discovery
from .exec import ExecRegistry
from .logs import PodLogs
from .objects import ObjectApi
from .resources import Registry
from .store import Store
from .tls import CertificateAuthority


class RecordedRequest(NamedTuple):
    method: str
    path: str
    query: dict[str, str]


@dataclass
class Failure:
    """An injected failure: answer ``times`` matching requests with ``status`` instead of serving them."""

    status: int
    times: int
    method: str | None = None
    path: str | None = None  # a path prefix

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or path.startswith(self.path)
        )


@dataclass
class ForbidRule:
    verb: str | None
    resource: str | None  # plural or plural.group
    namespace: str | None

    def matches(self, verb: str, resource: str, group_resource: str, namespace: str | None) -> bool:
        return (
            (self.verb is None or self.verb == verb)
            and (self.resource is None or self.resource in {resource, group_resource})
            and (self.namespace is None or self.namespace == namespace)
        )


@dataclass
class ServerState:
    registry: Registry = field(default_factory=Registry)
    store: Store = field(default_factory=Store)
    logs: PodLogs = field(default_factory=PodLogs)
    execs: ExecRegistry = field(default_factory=ExecRegistry)
    git_version: str = DEFAULT_VERSION
    bookmark_interval: float | None = 60.0
    delay: float = 0.0
    token: str | None = None
    client_ca: CertificateAuthority | None = None
    user: str = "system:admin"
    failures: list[Failure] = field(default_factory=list)
    forbidden: list[ForbidRule] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    address: str = "127.0.0.1:0"
    api: ObjectApi = field(init=False)
    discovery: Discovery = field(init=False)

    def __post_init__(self) -> None:
        self.api = ObjectApi(self.store, self.registry)
        self.discovery = Discovery(self.registry)
        self.store.listeners.append(self.logs.on_event)
