"""Registries through the API: register with per-type checks, list (never credentials), change, choose the
default, delete, and ``testRegistry`` — a real ``/v2/`` handshake with a real ``docker-registry`` on
loopback (htpasswd, and token auth with the test token issuer; an ECR registry through the loopback ECR
API), the outcome recorded and audited."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.domain.audit import AuditOutcome
from app.domain.workspaces import Scope
from app.settings import Settings
from app.store.opening import open_store
from tests.api.canvas import node
from tests.api.clusters import register_kubeconfig
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.kubeapi.tls import CertificateAuthority
from tests.live import serving
from tests.registry.clouds import FakeEcr
from tests.registry_server import LoopbackApp, RegistryServers

FIELDS = (
    "id name type url host insecure isDefault hasCredentials workspaceId status { status reason apiVersion }"
)
REGISTER = f"mutation($input: RegisterRegistryInput!) {{ registerRegistry(input: $input) {{ registry {{ {FIELDS} }} }} }}"
UPDATE = f"mutation($input: UpdateRegistryInput!) {{ updateRegistry(input: $input) {{ registry {{ {FIELDS} }} }} }}"
TEST = "mutation($id: ID!) { testRegistry(input: {id: $id}) { registry { status { status } } status { status reason apiVersion checkedAt } } }"
LIST = f"query($ws: ID!) {{ registries(workspaceId: $ws) {{ {FIELDS} }} }}"
DEFAULT = "mutation($id: ID!) { setDefaultRegistry(input: {id: $id}) { registry { name isDefault } registries { name isDefault } } }"
DELETE = "mutation($id: ID!) { deleteRegistry(input: {id: $id}) { deletedRegistryId } }"
RUN = "mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id } } }"
GET_RUN = "query($id: ID!) { run(id: $id) { status error logs { level message } } }"
SAVE = "mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"
ECR_PASSWORD = "ecr-password-for-the-registry"
KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def ecr_api(test_ca: tuple[CertificateAuthority, Path], tmp_path: Path) -> Iterator[tuple[FakeEcr, str]]:
    """The loopback ECR API and its URL."""
    ca, _ = test_ca
    fake = FakeEcr({KEY_ID: SECRET}, ECR_PASSWORD, datetime(2026, 1, 15, 21, tzinfo=UTC).timestamp())
    with LoopbackApp(fake.routes(), tls=ca.issue_server_cert(), directory=tmp_path) as app:
        yield fake, app.url


@pytest.fixture
def settings(
    settings: Settings, test_ca: tuple[CertificateAuthority, Path], ecr_api: tuple[FakeEcr, str]
) -> Settings:
    """Loopback allowed (only here, for the test registries), the test CA trusted, plain HTTP allowed for
    GENERIC registries, ECR's API on loopback."""
    return settings.model_copy(
        update={
            "egress_allow_loopback": True,
            "registry_ca_file": test_ca[1],
            "registry_allow_insecure": True,
            "registry_timeout_seconds": 5.0,
            "registry_ecr_endpoint": ecr_api[1] + "/",
            "registry_refresh_interval_seconds": 0.02,  # the refresher looks often; the fake clock decides
        }
    )


async def personal_workspace(gql: GraphQLClient, token: str) -> str:
    workspaces = (await gql.ok("query { workspaces { id personal } }", token=token))["workspaces"]
    return str(next(w["id"] for w in workspaces if w["personal"]))


async def register(gql: GraphQLClient, token: str, **fields: Any) -> dict[str, Any]:
    data = await gql.ok(REGISTER, {"input": fields}, token=token)
    registry: dict[str, Any] = data["registerRegistry"]["registry"]
    return registry


async def test_right_and_wrong_passwords_and_a_stopped_registry(
    registry_servers: RegistryServers, gql: GraphQLClient
) -> None:
    server = registry_servers.htpasswd({"alice": "sesame"})
    token = (await gql.register("ada@example.com"))["token"]
    ws = await personal_workspace(gql, token)
    base = {"workspaceId": ws, "type": "GENERIC", "url": server.url, "insecure": True}
    right = await register(
        gql, token, name="right", credentials={"username": "alice", "password": "sesame"}, **base
    )
    wrong = await register(
        gql, token, name="wrong", credentials={"username": "alice", "password": "nope"}, **base
    )
    assert right["status"] is None and right["host"] == server.url.removeprefix("http://")

    ok = (await gql.ok(TEST, {"id": right["id"]}, token=token))["testRegistry"]
    refused = (await gql.ok(TEST, {"id": wrong["id"]}, token=token))["testRegistry"]
    server.stop()
    gone = (await gql.ok(TEST, {"id": right["id"]}, token=token))["testRegistry"]

    assert ok["status"]["status"] == "REACHABLE" and ok["status"]["apiVersion"] == "registry/2.0"
    assert refused["status"] == {
        "status": "UNAUTHORIZED",
        "reason": "the registry refused the credentials (HTTP 401): UNAUTHORIZED: authentication required",
        "apiVersion": "registry/2.0",
        "checkedAt": refused["status"]["checkedAt"],
    }
    assert gone["status"]["status"] == "UNREACHABLE"
    assert "the connection was refused" in gone["status"]["reason"]
    listed = {
        r["name"]: r["status"]["status"] for r in (await gql.ok(LIST, {"ws": ws}, token=token))["registries"]
    }
    assert listed == {"right": "UNREACHABLE", "wrong": "UNAUTHORIZED"}


async def test_token_auth_through_the_issuer(registry_servers: RegistryServers, gql: GraphQLClient) -> None:
    issuer = registry_servers.issuer({"bob": "hunter2"})
    server = registry_servers.token(issuer)
    token = (await gql.register("ada@example.com"))["token"]
    ws = await personal_workspace(gql, token)
    base = {"workspaceId": ws, "type": "GENERIC", "url": server.url, "insecure": True}
    right = await register(
        gql, token, name="right", credentials={"username": "bob", "password": "hunter2"}, **base
    )
    wrong = await register(gql, token, name="wrong", credentials={"username": "bob", "password": "x"}, **base)

    ok = (await gql.ok(TEST, {"id": right["id"]}, token=token))["testRegistry"]["status"]
    refused = (await gql.ok(TEST, {"id": wrong["id"]}, token=token))["testRegistry"]["status"]

    assert ok["status"] == "REACHABLE"
    assert refused["status"] == "UNAUTHORIZED"
    assert "incorrect username or password" in refused["reason"]


async def test_an_ecr_registry_exchanges_its_keys_then_logs_in(
    registry_servers: RegistryServers,
    gql: GraphQLClient,
    test_ca: tuple[CertificateAuthority, Path],
    ecr_api: tuple[FakeEcr, str],
) -> None:
    server = registry_servers.htpasswd({"AWS": ECR_PASSWORD}, tls=test_ca[0].issue_server_cert())
    token = (await gql.register("ada@example.com"))["token"]
    ws = await personal_workspace(gql, token)
    keys = {"accessKeyId": KEY_ID, "secretAccessKey": SECRET, "region": "eu-west-1"}
    good = await register(
        gql, token, workspaceId=ws, name="ecr", type="ECR", url=server.url, credentials=keys
    )
    bad = await register(
        gql,
        token,
        workspaceId=ws,
        name="bad",
        type="ECR",
        url=server.url,
        credentials={**keys, "secretAccessKey": "x"},
    )

    ok = (await gql.ok(TEST, {"id": good["id"]}, token=token))["testRegistry"]["status"]
    refused = (await gql.ok(TEST, {"id": bad["id"]}, token=token))["testRegistry"]["status"]

    assert ok["status"] == "REACHABLE", ok["reason"]
    assert refused["status"] == "UNAUTHORIZED"
    assert "InvalidSignatureException" in refused["reason"]
    assert len(ecr_api[0].requests) == 2


async def test_credentials_are_checked_per_type_and_never_returned(
    gql: GraphQLClient, settings: Settings
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    ws = await personal_workspace(gql, token)

    async def fields_of(**given: Any) -> dict[str, str]:
        error = await gql.error(REGISTER, {"input": {"workspaceId": ws, "name": "r", **given}}, token=token)
        assert error["extensions"]["code"] == "BAD_INPUT"
        found: dict[str, str] = {}
        for problem in error["extensions"]["fields"]:
            found[problem["path"]] = " / ".join(
                filter(None, (found.get(problem["path"]), problem["message"]))
            )
        return found

    hub = await fields_of(type="DOCKER_HUB", credentials={"username": "ada"})
    ecr = await fields_of(type="ECR", credentials={"accessKeyId": "nope", "region": "mars", "username": "x"})
    gcr = await fields_of(type="GCR", credentials={"serviceAccountJson": json.dumps({"type": "user"})})
    acr = await fields_of(
        type="ACR", url="https://x.azurecr.io", credentials={"clientId": "app", "username": "u"}
    )
    generic = await fields_of(type="GENERIC", url="https://r.example", insecure=True)
    path = await fields_of(type="GENERIC", url="https://r.example/v2/app")
    blank = await fields_of(type="GHCR", name=" ", credentials={"username": "a", "password": "b"})

    assert set(hub) == {"credentials.password"}
    assert set(ecr) == {
        "credentials.accessKeyId", "credentials.secretAccessKey", "credentials.region", "credentials.username", "url",
    }  # fmt: skip
    assert ecr["credentials.username"] == "is not used by ECR registries"
    assert set(gcr) == {"credentials.serviceAccountJson"}
    assert "`type` must be service_account, not 'user'" in gcr["credentials.serviceAccountJson"]
    assert "`client_email`" in gcr["credentials.serviceAccountJson"]
    assert set(acr) == {"credentials.tenantId", "credentials.clientSecret", "credentials.username"}
    assert generic == {"insecure": "only applies to an http:// URL; https:// is always verified"}
    assert path == {"url": "give only the scheme, host and port; repository paths belong in image names"}
    assert set(blank) == {"name"}

    created = await register(
        gql,
        token,
        workspaceId=ws,
        name="hub",
        type="DOCKER_HUB",
        credentials={"username": "ada", "password": "s3cret!"},
    )
    assert created["url"] == "https://registry-1.docker.io" and created["hasCredentials"] is True
    schema = await gql.ok('query { __type(name: "Registry") { fields { name } } }')
    names = {f["name"] for f in schema["__type"]["fields"]}
    assert not names & {"credentials", "password", "secretAccessKey", "serviceAccountJson", "clientSecret"}
    store = await open_store(settings.resolved_store_url)
    try:
        stored = await store.list_audit(20)
        registry = await store.list_registries(Scope.of([ws]), ws)
    finally:
        await store.close()
    assert all("s3cret!" not in str(entry) for entry in stored)
    assert (
        registry[0].credentials_ciphertext is not None and "s3cret!" not in registry[0].credentials_ciphertext
    )
    assert [(e.action, e.outcome) for e in stored if e.action.startswith("registry.")][:2] == [
        ("registry.register", AuditOutcome.SUCCESS),
        ("registry.register", AuditOutcome.FAILURE),
    ]


async def test_update_default_and_delete(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    ws = await personal_workspace(gql, token)
    creds = {"username": "ada", "password": "pat"}
    ghcr = await register(
        gql, token, workspaceId=ws, name="ghcr", type="GHCR", credentials=creds, isDefault=True
    )
    hub = await register(gql, token, workspaceId=ws, name="hub", type="DOCKER_HUB", credentials=creds)
    assert ghcr["isDefault"] is True and hub["isDefault"] is False

    chosen = (await gql.ok(DEFAULT, {"id": hub["id"]}, token=token))["setDefaultRegistry"]
    renamed = await gql.ok(
        UPDATE, {"input": {"id": ghcr["id"], "name": "GitHub", "url": "ghcr.io:443"}}, token=token
    )
    taken = await gql.error(UPDATE, {"input": {"id": ghcr["id"], "name": "HUB"}}, token=token)
    bad_creds = await gql.error(
        UPDATE, {"input": {"id": ghcr["id"], "credentials": {"username": "only"}}}, token=token
    )

    assert chosen["registry"] == {"name": "hub", "isDefault": True}
    assert chosen["registries"] == [{"name": "ghcr", "isDefault": False}, {"name": "hub", "isDefault": True}]
    assert renamed["updateRegistry"]["registry"]["name"] == "GitHub"
    assert renamed["updateRegistry"]["registry"]["url"] == "https://ghcr.io:443"
    assert taken["extensions"]["code"] == "CONFLICT"
    assert bad_creds["extensions"]["fields"] == [
        {"path": "credentials.password", "message": "give the password or access token"}
    ]
    assert (await gql.ok(DELETE, {"id": hub["id"]}, token=token))["deleteRegistry"][
        "deletedRegistryId"
    ] == hub["id"]
    assert [r["name"] for r in (await gql.ok(LIST, {"ws": ws}, token=token))["registries"]] == ["GitHub"]


async def test_another_workspaces_registries_are_invisible(gql: GraphQLClient) -> None:
    ada = (await gql.register("ada@example.com"))["token"]
    eve = (await gql.register("eve@example.com"))["token"]
    ws = await personal_workspace(gql, ada)
    mine = await register(
        gql,
        ada,
        workspaceId=ws,
        name="hub",
        type="DOCKER_HUB",
        credentials={"username": "a", "password": "b"},
    )

    for operation, variables in (
        (TEST, {"id": mine["id"]}),
        (DELETE, {"id": mine["id"]}),
        (DEFAULT, {"id": mine["id"]}),
        (LIST, {"ws": ws}),
    ):
        assert (await gql.error(operation, variables, token=eve))["extensions"]["code"] == "NOT_FOUND"
    theirs = await gql.error(
        REGISTER,
        {"input": {"workspaceId": ws, "name": "x", "type": "GENERIC", "url": "https://r.example"}},
        token=eve,
    )
    assert theirs["extensions"]["code"] == "NOT_FOUND"


async def test_registries_the_egress_rules_refuse_are_refused(
    gql: GraphQLClient, http: httpx.AsyncClient, settings: Settings
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    ws = await personal_workspace(gql, token)
    metadata = await gql.error(
        REGISTER,
        {"input": {"workspaceId": ws, "name": "meta", "type": "GENERIC", "url": "https://169.254.169.254"}},
        token=token,
    )
    strict = settings.model_copy(
        update={"egress_allow_loopback": False, "data_dir": settings.data_dir / "strict"}
    )
    with serving(strict) as url:
        client = GraphQLClient(url, http)
        other = (await client.register("bob@example.com"))["token"]
        loopback = await client.error(
            REGISTER,
            {
                "input": {
                    "workspaceId": await personal_workspace(client, other),
                    "name": "local",
                    "type": "GENERIC",
                    "url": "https://127.0.0.1:5000",
                }
            },
            token=other,
        )

    for refused in (metadata, loopback):
        assert refused["extensions"]["code"] == "BAD_INPUT"
        assert refused["extensions"]["reason"] == "EGRESS_REFUSED"
        assert refused["extensions"]["fields"][0]["path"] == "url"
    assert "TRELLIS_EGRESS_ALLOW_LOOPBACK" in loopback["message"]


async def test_a_run_gets_an_ecr_pull_secret_refreshed_before_it_expires(
    kube_api: Any, gql: GraphQLClient, ecr_api: tuple[FakeEcr, str], clock: FakeClock
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    ws = await personal_workspace(gql, token)
    host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    keys = {"accessKeyId": KEY_ID, "secretAccessKey": SECRET, "region": "eu-west-1"}
    ecr = await register(
        gql, token, workspaceId=ws, name="ecr", type="ECR", accountId="123456789012", credentials=keys
    )
    assert ecr["url"] == f"https://{host}"
    cluster = await register_kubeconfig(gql, token, kube_api)
    created = await gql.ok(
        'mutation($c: ID!) { createWorkflow(input: {name: "shop", namespace: "shop", clusterId: $c}) '
        "{ workflow { id revision } } }",
        {"c": cluster["id"]},
        token=token,
    )
    wf = created["createWorkflow"]["workflow"]
    nodes = [
        node("ns", "Namespace", name="shop"),
        node("web", "Deployment", name="web", image=f"{host}/shop/web:1", port=8080),
        node("proxy", "Deployment", name="proxy", image="nginx:1.27"),
    ]
    await gql.ok(
        SAVE,
        {"input": {"id": wf["id"], "nodes": nodes, "edges": [], "expectedRevision": wf["revision"]}},
        token=token,
    )

    started = (await gql.ok(RUN, {"id": wf["id"]}, token=token))["runWorkflow"]["run"]
    run = await wait_for_run(gql, token, started["id"])

    assert run["status"] == "COMPLETED", run
    name = f"trellis-pull-{ecr['id']}"
    assert f"image pull Secret {name} applied in shop" in [line["message"] for line in run["logs"]]
    web = kube_api.get("Deployment", "shop", "web")
    assert web["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": name}]
    assert "imagePullSecrets" not in kube_api.get("Deployment", "shop", "proxy")["spec"]["template"]["spec"]
    assert docker_login(kube_api.get("Secret", "shop", name), host) == ("AWS", ECR_PASSWORD)

    fake = ecr_api[0]
    fake.password, fake.expires_at = "rotated-password", fake.expires_at + 12 * 3600
    clock.advance(hours=11, minutes=30)  # within the hour-long margin before the 12-hour token expires
    for _ in range(500):
        if docker_login(kube_api.get("Secret", "shop", name), host) == ("AWS", "rotated-password"):
            break
        await asyncio.sleep(0.02)
    secret = kube_api.get("Secret", "shop", name)
    assert docker_login(secret, host) == ("AWS", "rotated-password")
    assert secret["metadata"]["annotations"]["trellis.dev/expires-at"] == "2026-01-16T09:00:00+00:00"


def docker_login(secret: dict[str, Any] | None, host: str) -> tuple[str, str] | None:
    """The user name and password a pull Secret holds for ``host``."""
    if secret is None:
        return None
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    entry = config["auths"][host]
    assert base64.b64decode(entry["auth"]).decode() == f"{entry['username']}:{entry['password']}"
    return entry["username"], entry["password"]


async def wait_for_run(gql: GraphQLClient, token: str, run_id: str) -> dict[str, Any]:
    for _ in range(500):
        run: dict[str, Any] = (await gql.ok(GET_RUN, {"id": run_id}, token=token))["run"]
        if run["status"] in {"COMPLETED", "FAILED", "CANCELLED", "INTERRUPTED"}:
            return run
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} did not finish")


async def test_a_pull_secret_that_cannot_be_had_is_a_warning_on_the_run(
    kube_api: Any, gql: GraphQLClient, ecr_api: tuple[FakeEcr, str]
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    ws = await personal_workspace(gql, token)
    keys = {"accessKeyId": KEY_ID, "secretAccessKey": "revoked", "region": "eu-west-1"}
    ecr = await register(
        gql, token, workspaceId=ws, name="ecr", type="ECR", accountId="123456789012", credentials=keys
    )
    cluster = await register_kubeconfig(gql, token, kube_api)
    created = await gql.ok(
        'mutation($c: ID!) { createWorkflow(input: {name: "api", namespace: "api", clusterId: $c}) '
        "{ workflow { id revision } } }",
        {"c": cluster["id"]},
        token=token,
    )
    wf = created["createWorkflow"]["workflow"]
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:2"
    nodes = [node("ns", "Namespace", name="api"), node("api", "Deployment", name="api", image=image)]
    await gql.ok(
        SAVE,
        {"input": {"id": wf["id"], "nodes": nodes, "edges": [], "expectedRevision": wf["revision"]}},
        token=token,
    )

    started = (await gql.ok(RUN, {"id": wf["id"]}, token=token))["runWorkflow"]["run"]
    run = await wait_for_run(gql, token, started["id"])

    assert run["status"] == "COMPLETED", run
    warnings = [line["message"] for line in run["logs"] if line["level"] == "WARNING"]
    assert any(
        w.startswith(
            "image pull Secret for registry ecr not applied: AWS ECR (GetAuthorizationToken) refused"
        )
        and "InvalidSignatureException" in w
        for w in warnings
    ), warnings
    assert kube_api.get("Secret", "api", f"trellis-pull-{ecr['id']}") is None
    assert len(ecr_api[0].requests) == 1
