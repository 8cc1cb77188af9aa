"""The ``/v2/`` handshake against a real ``docker-registry``: HTTP Basic, the bearer-token challenge
(with the token issuer the tests start), TLS, and what an unreachable registry reports."""

from __future__ import annotations

from pathlib import Path

from app.domain.registries import RegistryAccess, RegistryCredentials, RegistryStatus, RegistryType
from app.net import EgressGuard, EgressPolicy
from app.registry import HttpRegistryClient, RegistryEndpoints
from tests.clock import FakeClock
from tests.kubeapi.tls import CertificateAuthority
from tests.registry_server import RegistryServers

LOOPBACK = EgressGuard(EgressPolicy(allow_loopback=True))


def client(
    *, guard: EgressGuard = LOOPBACK, ca_file: Path | None = None, timeout: float = 5
) -> HttpRegistryClient:
    return HttpRegistryClient(
        guard=guard,
        clock=FakeClock(),
        endpoints=RegistryEndpoints(),
        timeout_seconds=timeout,
        ca_file=ca_file,
    )


def generic(url: str, username: str | None = None, password: str | None = None) -> RegistryAccess:
    return RegistryAccess(
        RegistryType.GENERIC, url, url.startswith("http://"), RegistryCredentials(username, password)
    )


async def test_basic_auth_right_and_wrong_password(registry_servers: RegistryServers) -> None:
    server = registry_servers.htpasswd({"alice": "sesame"})

    right = await client().handshake(generic(server.url, "alice", "sesame"))
    wrong = await client().handshake(generic(server.url, "alice", "open up"))
    anonymous = await client().handshake(generic(server.url))

    assert right.status is RegistryStatus.REACHABLE
    assert right.api_version == "registry/2.0"
    assert right.reason is None
    assert wrong.status is RegistryStatus.UNAUTHORIZED
    assert (
        wrong.reason
        == "the registry refused the credentials (HTTP 401): UNAUTHORIZED: authentication required"
    )
    assert anonymous.status is RegistryStatus.UNAUTHORIZED
    assert "none are stored" in (anonymous.reason or "")


async def test_bearer_tokens_from_the_token_service(registry_servers: RegistryServers) -> None:
    issuer = registry_servers.issuer({"bob": "hunter2"})
    server = registry_servers.token(issuer)

    right = await client().handshake(generic(server.url, "bob", "hunter2"))
    wrong = await client().handshake(generic(server.url, "bob", "nope"))

    assert right.status is RegistryStatus.REACHABLE
    assert right.api_version == "registry/2.0"
    asked = issuer.requests[0]
    assert asked["params"] == {"service": issuer.service, "account": "bob"}
    assert asked["authorization"].startswith("Basic ")
    assert wrong.status is RegistryStatus.UNAUTHORIZED
    assert wrong.reason == (
        "the registry's token service refused the credentials (HTTP 401): UNAUTHORIZED: incorrect username or password"
    )


async def test_a_token_the_registry_does_not_trust_is_unauthorized(registry_servers: RegistryServers) -> None:
    trusted = registry_servers.issuer({"bob": "hunter2"})
    server = registry_servers.token(trusted)
    trusted.key = type(trusted.key).generate("an impostor")  # signs with a key the registry does not know

    outcome = await client().handshake(generic(server.url, "bob", "hunter2"))

    assert outcome.status is RegistryStatus.UNAUTHORIZED
    assert outcome.reason is not None and outcome.reason.startswith(
        "the registry refused the credentials (HTTP 401)"
    )


async def test_unreachable_registries_say_why(registry_servers: RegistryServers, tmp_path: Path) -> None:
    server = registry_servers.htpasswd({"alice": "sesame"})
    server.stop()

    stopped = await client().handshake(generic(server.url, "alice", "sesame"))
    refused = await client(guard=EgressGuard(EgressPolicy())).handshake(
        generic(server.url, "alice", "sesame")
    )
    unknown = await client().handshake(generic("https://registry.invalid", "alice", "sesame"))

    assert stopped.status is RegistryStatus.UNREACHABLE
    assert (
        stopped.reason
        == f"cannot reach the registry at {server.url}: the connection was refused (nothing listens there)"
    )
    assert refused.status is RegistryStatus.UNREACHABLE
    assert "TRELLIS_EGRESS_ALLOW_LOOPBACK" in (refused.reason or "")
    assert unknown.status is RegistryStatus.UNREACHABLE
    assert "registry.invalid cannot be resolved" in (unknown.reason or "")


async def test_tls_is_verified(
    registry_servers: RegistryServers, test_ca: tuple[CertificateAuthority, Path]
) -> None:
    ca, ca_file = test_ca
    server = registry_servers.htpasswd({"alice": "sesame"}, tls=ca.issue_server_cert())
    access = RegistryAccess(RegistryType.GHCR, server.url, False, RegistryCredentials("alice", "sesame"))

    trusted = await client(ca_file=ca_file).handshake(access)
    untrusted = await client().handshake(access)

    assert trusted.status is RegistryStatus.REACHABLE
    assert untrusted.status is RegistryStatus.UNREACHABLE
    assert "TLS certificate cannot be verified" in (untrusted.reason or "")


async def test_something_else_than_a_registry_is_unreachable(registry_servers: RegistryServers) -> None:
    issuer = registry_servers.issuer({})  # a web server, but not a registry: GET /v2/ is 404

    outcome = await client().handshake(generic(issuer.url))

    assert outcome.status is RegistryStatus.UNREACHABLE
    assert outcome.reason == "GET /v2/ answered 404: this is not a Docker Registry HTTP API v2 endpoint"
