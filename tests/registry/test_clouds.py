"""The cloud registries' token exchanges against loopback stand-ins of their token services (ECR's
``GetAuthorizationToken``, Google's OAuth2 endpoint, Entra ID and ACR's exchange), each followed by the
``/v2/`` handshake — with a real ``docker-registry`` that takes the exchanged token as a password, for
ECR and GCR — and each with a failure answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app import errors
from app.domain.registries import PullAuth, RegistryAccess, RegistryCredentials, RegistryStatus, RegistryType
from app.net import EgressGuard, EgressPolicy
from app.registry import HttpRegistryClient, RegistryEndpoints
from tests.clock import FakeClock
from tests.kubeapi.tls import CertificateAuthority
from tests.registry.clouds import FakeAzure, FakeEcr, FakeGoogle, ServiceAccount
from tests.registry_server import LoopbackApp, RegistryServers

ECR_PASSWORD = "ecr-registry-password-" + "x" * 20
GCR_TOKEN = "ya29.test-access-token"
EXPIRES = datetime(2026, 1, 15, 21, 0, tzinfo=UTC)
KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def ca(test_ca: tuple[CertificateAuthority, Path]) -> CertificateAuthority:
    return test_ca[0]


@pytest.fixture
def serve(ca: CertificateAuthority, tmp_path: Path) -> Iterator[list[LoopbackApp]]:
    """Servers started by a test (over TLS from the test CA), stopped afterwards."""
    started: list[LoopbackApp] = []
    yield started
    for server in started:
        server.__exit__()


def start(
    serve: list[LoopbackApp], ca: CertificateAuthority, tmp_path: Path, fake: FakeEcr | FakeGoogle | FakeAzure
) -> str:
    app = LoopbackApp(fake.routes(), tls=ca.issue_server_cert(), directory=tmp_path)
    if isinstance(fake, FakeGoogle | FakeAzure):
        fake.url = app.url
    serve.append(app.__enter__())
    return app.url


def client(ca_file: Path, clock: FakeClock, **endpoints: str) -> HttpRegistryClient:
    return HttpRegistryClient(
        guard=EgressGuard(EgressPolicy(allow_loopback=True)),
        clock=clock,
        endpoints=RegistryEndpoints(**endpoints),
        timeout_seconds=5,
        ca_file=ca_file,
    )


async def test_ecr_signs_get_authorization_token_and_logs_in_with_the_token(
    registry_servers: RegistryServers,
    test_ca: tuple[CertificateAuthority, Path],
    serve: list[LoopbackApp],
    tmp_path: Path,
) -> None:
    ca, ca_file = test_ca
    ecr = FakeEcr({KEY_ID: SECRET}, ECR_PASSWORD, EXPIRES.timestamp())
    endpoint = start(serve, ca, tmp_path, ecr)
    registry = registry_servers.htpasswd({"AWS": ECR_PASSWORD}, tls=ca.issue_server_cert())
    clock = FakeClock()
    ecr_client = client(ca_file, clock, ecr=endpoint + "/?region={region}")
    keys = RegistryCredentials(
        access_key_id=KEY_ID, secret_access_key=SECRET, region="eu-west-1", session_token="tok"
    )
    access = RegistryAccess(RegistryType.ECR, registry.url, False, keys)

    outcome = await ecr_client.handshake(access)
    auth = await ecr_client.pull_auth(access)

    assert outcome.status is RegistryStatus.REACHABLE, outcome.reason
    assert auth == PullAuth("AWS", ECR_PASSWORD, EXPIRES)
    assert ecr.requests[0]["query"] == "region=eu-west-1"
    sent = ecr.requests[0]["headers"]
    assert sent["x-amz-date"] == clock.now().strftime("%Y%m%dT%H%M%SZ")
    assert sent["x-amz-security-token"] == "tok"
    assert (
        "/eu-west-1/ecr/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,"
        in sent["authorization"]
    )


async def test_ecr_refusals_say_what_aws_said(
    test_ca: tuple[CertificateAuthority, Path], serve: list[LoopbackApp], tmp_path: Path
) -> None:
    ca, ca_file = test_ca
    endpoint = start(serve, ca, tmp_path, FakeEcr({KEY_ID: SECRET}, ECR_PASSWORD, EXPIRES.timestamp()))
    ecr_client = client(ca_file, FakeClock(), ecr=endpoint + "/")

    def access(key_id: str, secret: str) -> RegistryAccess:
        keys = RegistryCredentials(access_key_id=key_id, secret_access_key=secret, region="us-east-1")
        return RegistryAccess(
            RegistryType.ECR, "https://123456789012.dkr.ecr.us-east-1.amazonaws.com", False, keys
        )

    unknown = await ecr_client.handshake(access("AKIAUNKNOWNKEY000000", SECRET))
    wrong = await ecr_client.handshake(access(KEY_ID, "not-the-secret"))
    with pytest.raises(errors.Unavailable, match="InvalidSignatureException"):
        await ecr_client.pull_auth(access(KEY_ID, "not-the-secret"))

    assert unknown.status is RegistryStatus.UNAUTHORIZED
    assert unknown.reason == (
        "AWS ECR (GetAuthorizationToken) refused the credentials (HTTP 400): "
        "UnrecognizedClientException: The security token included in the request is invalid."
    )
    assert wrong.status is RegistryStatus.UNAUTHORIZED
    assert "(HTTP 403): InvalidSignatureException: The request signature we calculated" in (
        wrong.reason or ""
    )


async def test_ecr_unreachable_is_unreachable(test_ca: tuple[CertificateAuthority, Path]) -> None:
    _, ca_file = test_ca
    keys = RegistryCredentials(access_key_id=KEY_ID, secret_access_key=SECRET, region="us-east-1")
    access = RegistryAccess(
        RegistryType.ECR, "https://123456789012.dkr.ecr.us-east-1.amazonaws.com", False, keys
    )

    outcome = await client(ca_file, FakeClock(), ecr="https://127.0.0.1:9/").handshake(access)

    assert outcome.status is RegistryStatus.UNREACHABLE
    assert outcome.reason == (
        "cannot reach AWS ECR (GetAuthorizationToken) at https://127.0.0.1:9: the connection was refused "
        "(nothing listens there)"
    )


async def test_gcr_exchanges_a_service_account_jwt_for_a_token(
    registry_servers: RegistryServers,
    test_ca: tuple[CertificateAuthority, Path],
    serve: list[LoopbackApp],
    tmp_path: Path,
) -> None:
    ca, ca_file = test_ca
    account = ServiceAccount.generate()
    google = FakeGoogle(account, GCR_TOKEN)
    url = start(serve, ca, tmp_path, google)
    registry = registry_servers.htpasswd({"oauth2accesstoken": GCR_TOKEN}, tls=ca.issue_server_cert())
    clock = FakeClock()
    gcr_client = client(ca_file, clock, google_token=url + "/token")
    access = RegistryAccess(
        RegistryType.GCR, registry.url, False, RegistryCredentials(service_account_json=account.json_key())
    )

    outcome = await gcr_client.handshake(access)
    pull = await gcr_client.pull_auth(access)

    assert outcome.status is RegistryStatus.REACHABLE, outcome.reason
    asked = google.requests[0]
    assert asked["content_type"] == "application/x-www-form-urlencoded"
    assert asked["header"]["kid"] == account.key_id
    now = int(clock.now().timestamp())
    assert asked["claims"] == {
        "iss": account.email,
        "scope": "https://www.googleapis.com/auth/cloud-platform",
        "aud": url + "/token",
        "iat": now,
        "exp": now + 3600,
    }
    assert pull == PullAuth("_json_key", account.json_key())  # long-lived: nothing to refresh


async def test_gcr_with_a_key_google_does_not_know_is_unauthorized(
    test_ca: tuple[CertificateAuthority, Path], serve: list[LoopbackApp], tmp_path: Path
) -> None:
    ca, ca_file = test_ca
    url = start(serve, ca, tmp_path, FakeGoogle(ServiceAccount.generate(), GCR_TOKEN))
    impostor = ServiceAccount.generate()  # same e-mail, another key
    access = RegistryAccess(
        RegistryType.GCR,
        "https://gcr.io",
        False,
        RegistryCredentials(service_account_json=impostor.json_key()),
    )

    outcome = await client(ca_file, FakeClock(), google_token=url + "/token").handshake(access)

    assert outcome.status is RegistryStatus.UNAUTHORIZED
    assert outcome.reason == (
        "Google's OAuth2 token endpoint refused the credentials (HTTP 400): invalid_grant: Invalid JWT Signature."
    )


async def test_acr_service_principal_entra_token_exchange_and_refresh_token(
    test_ca: tuple[CertificateAuthority, Path], serve: list[LoopbackApp], tmp_path: Path
) -> None:
    ca, ca_file = test_ca
    azure = FakeAzure("contoso.onmicrosoft.com", "app-id", "app-secret")
    url = start(serve, ca, tmp_path, azure)
    acr_client = client(ca_file, FakeClock(), azure_authority=url)

    def access(secret: str) -> RegistryAccess:
        principal = RegistryCredentials(tenant_id=azure.tenant, client_id="app-id", client_secret=secret)
        return RegistryAccess(RegistryType.ACR, url, False, principal)

    right = await acr_client.handshake(access("app-secret"))
    paths = [r["path"] for r in azure.requests]
    wrong = await acr_client.handshake(access("stale-secret"))

    assert right.status is RegistryStatus.REACHABLE, right.reason
    assert right.api_version == "registry/2.0"
    assert paths == [
        f"/{azure.tenant}/oauth2/v2.0/token",
        "/oauth2/exchange",
        "/v2/",
        "/oauth2/token",
        "/v2/",
    ]
    assert azure.requests[3]["form"]["grant_type"] == "refresh_token"
    assert wrong.status is RegistryStatus.UNAUTHORIZED
    assert wrong.reason is not None and wrong.reason.startswith(
        "Microsoft Entra ID refused the credentials (HTTP 401): invalid_client: AADSTS7000215: Invalid client secret"
    )
    assert await acr_client.pull_auth(access("app-secret")) == PullAuth("app-id", "app-secret")
