"""Git credentials through the API: tokens and SSH keys are checked, stored encrypted and never come
back — not in a response, an audit entry or a log line; editors write, viewers read names, other
tenants see nothing."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from app.domain.workspaces import Scope
from app.settings import Settings
from app.store.opening import open_store
from tests.graphql_client import GraphQLClient

CANARY = "glpat-CANARY-7f3e9a1b2c4d5e6f"
CREATE = """mutation($input: CreateGitCredentialInput!) { createGitCredential(input: $input) {
  gitCredential { id workspaceId name host kind username createdAt createdBy { email } } } }"""
LIST = """query($ws: ID!) { gitCredentials(workspaceId: $ws) { id name host kind username createdBy { email } } }"""
DELETE = """mutation($id: ID!) { deleteGitCredential(input: {id: $id}) { deletedGitCredentialId } }"""
WORKSPACES = "query { workspaces { id personal } }"
CREATE_WS = 'mutation { createWorkspace(input: {name: "Team"}) { workspace { id } } }'
ADD = """mutation($ws: ID!, $email: String!, $role: MemberRole!) {
  addWorkspaceMember(input: {workspaceId: $ws, email: $email, role: $role}) { member { role } } }"""


def openssh_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode()


async def personal_workspace(gql: GraphQLClient, token: str) -> str:
    workspaces = (await gql.ok(WORKSPACES, token=token))["workspaces"]
    return str(next(w["id"] for w in workspaces if w["personal"]))


async def signed_in(gql: GraphQLClient, email: str) -> tuple[str, str]:
    token = (await gql.register(email))["token"]
    return token, await personal_workspace(gql, token)


async def test_secrets_go_in_and_never_come_out(
    gql: GraphQLClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token, ws = await signed_in(gql, "ada@example.com")
    key = openssh_key()
    key_line = key.splitlines()[2]  # a line of the key's body
    answers: list[dict[str, Any]] = []

    async def call(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = await gql.raw(query, variables, token=token)
        answers.append(body)
        return body

    created = await call(
        CREATE, {"input": {"workspaceId": ws, "name": "GitLab", "host": "GitLab.com", "token": CANARY}}
    )
    ssh = await call(
        CREATE,
        {"input": {"workspaceId": ws, "name": "deploy key", "host": "github.com", "sshPrivateKey": key}},
    )
    listed = await call(LIST, {"ws": ws})
    # failures must not echo the secret either
    spaced = await call(
        CREATE, {"input": {"workspaceId": ws, "name": "x", "host": "h.example", "token": f"{CANARY} x"}}
    )
    duplicate = await call(
        CREATE, {"input": {"workspaceId": ws, "name": "gitlab", "host": "h.example", "token": CANARY}}
    )

    assert created["data"]["createGitCredential"]["gitCredential"] == {
        "id": created["data"]["createGitCredential"]["gitCredential"]["id"],
        "workspaceId": ws,
        "name": "GitLab",
        "host": "gitlab.com",
        "kind": "TOKEN",
        "username": "x-access-token",
        "createdAt": created["data"]["createGitCredential"]["gitCredential"]["createdAt"],
        "createdBy": {"email": "ada@example.com"},
    }
    assert ssh["data"]["createGitCredential"]["gitCredential"]["kind"] == "SSH_KEY"
    assert ssh["data"]["createGitCredential"]["gitCredential"]["username"] == "git"
    assert [(c["name"], c["host"], c["kind"]) for c in listed["data"]["gitCredentials"]] == [
        ("deploy key", "github.com", "SSH_KEY"),
        ("GitLab", "gitlab.com", "TOKEN"),
    ]
    assert spaced["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    assert duplicate["errors"][0]["extensions"]["code"] == "CONFLICT"

    everything_said = json.dumps(answers)
    assert CANARY not in everything_said
    assert key_line not in everything_said
    schema = await gql.ok('query { __type(name: "GitCredential") { fields { name } } }')
    fields = {f["name"] for f in schema["__type"]["fields"]}
    assert fields == {"id", "workspaceId", "name", "host", "kind", "username", "createdAt", "createdBy"}

    store = await open_store(settings.resolved_store_url)
    try:
        entries = await store.list_audit(100)
        stored = await store.list_git_credentials(Scope.of([ws]), ws)
    finally:
        await store.close()
    audited = [(e.action, e.outcome.value, e.error_code) for e in reversed(entries) if "git" in e.action]
    assert audited == [
        ("git_credential.create", "SUCCESS", None),
        ("git_credential.create", "SUCCESS", None),
        ("git_credential.create", "FAILURE", "BAD_INPUT"),
        ("git_credential.create", "FAILURE", "CONFLICT"),
    ]
    assert CANARY not in repr(entries) and key_line not in repr(entries)
    assert all(CANARY not in c.ciphertext and key_line not in c.ciphertext for c in stored)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "the Git credential is not valid" in logged  # the server's log is really captured
    assert CANARY not in logged and key_line not in logged


async def test_bad_input_names_the_field_and_writes_nothing(gql: GraphQLClient) -> None:
    token, ws = await signed_in(gql, "ada@example.com")
    passphrased = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, BestAvailableEncryption(b"secret phrase"))
        .decode()
    )
    pem_passphrased = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"secret phrase"))
        .decode()
    )
    public = (
        ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    ).decode()
    base = {"workspaceId": ws, "name": "x", "host": "github.com"}
    cases: list[tuple[dict[str, Any], set[str], str]] = [
        ({**base, "host": "https://github.com/acme", "token": "t"}, {"host"}, "host name alone"),
        ({**base, "host": "github.com:443", "token": "t"}, {"host"}, "host name alone"),
        ({**base, "host": "-oProxyCommand", "token": "t"}, {"host"}, "not a valid host name"),
        ({**base, "host": "", "token": "t"}, {"host"}, "empty"),
        ({**base, "name": "  ", "token": "t"}, {"name"}, "1 to 63"),
        (base, {"token", "sshPrivateKey"}, "exactly one"),
        ({**base, "token": "t", "sshPrivateKey": openssh_key()}, {"token", "sshPrivateKey"}, "exactly one"),
        ({**base, "token": "   "}, {"token"}, "empty"),
        ({**base, "token": "x" * 4097}, {"token"}, "4096 bytes"),
        ({**base, "token": "a\nb"}, {"token"}, "control characters"),
        ({**base, "sshPrivateKey": passphrased}, {"sshPrivateKey"}, "passphrase"),
        ({**base, "sshPrivateKey": pem_passphrased}, {"sshPrivateKey"}, "passphrase"),
        ({**base, "sshPrivateKey": public}, {"sshPrivateKey"}, "public key"),
        (
            {
                **base,
                "sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
            },
            {"sshPrivateKey"},
            "cannot be read",
        ),
        ({**base, "sshPrivateKey": "hello"}, {"sshPrivateKey"}, "OpenSSH"),
        ({**base, "token": "t", "username": "a:b"}, {"username"}, "colons"),
        ({**base, "sshPrivateKey": openssh_key(), "username": "-oProxyCommand=x"}, {"username"}, "starting"),
    ]
    for variables, paths, phrase in cases:
        error = await gql.error(CREATE, {"input": variables}, token=token)
        assert error["extensions"]["code"] == "BAD_INPUT", variables
        fields = error["extensions"]["fields"]
        assert {f["path"] for f in fields} == paths, variables
        assert any(phrase in f["message"] for f in fields), (phrase, fields)

    assert (await gql.ok(LIST, {"ws": ws}, token=token))["gitCredentials"] == []
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption())
        .decode()
    )
    ok = await gql.ok(CREATE, {"input": {**base, "sshPrivateKey": pem, "username": "deploy"}}, token=token)
    assert ok["createGitCredential"]["gitCredential"]["username"] == "deploy"


async def test_editors_write_viewers_read_names_and_strangers_see_nothing(gql: GraphQLClient) -> None:
    owner, _ = await signed_in(gql, "owner@example.com")
    editor, _ = await signed_in(gql, "editor@example.com")
    viewer, _ = await signed_in(gql, "viewer@example.com")
    eve, eve_ws = await signed_in(gql, "eve@example.com")
    ws = (await gql.ok(CREATE_WS, token=owner))["createWorkspace"]["workspace"]["id"]
    await gql.ok(ADD, {"ws": ws, "email": "editor@example.com", "role": "EDITOR"}, token=owner)
    await gql.ok(ADD, {"ws": ws, "email": "viewer@example.com", "role": "VIEWER"}, token=owner)
    new = {"workspaceId": ws, "name": "gh", "host": "github.com", "token": CANARY}

    made = (await gql.ok(CREATE, {"input": new}, token=editor))["createGitCredential"]["gitCredential"]

    seen = (await gql.ok(LIST, {"ws": ws}, token=viewer))["gitCredentials"]
    assert [(c["name"], c["createdBy"]["email"]) for c in seen] == [("gh", "editor@example.com")]
    for query, variables in [(CREATE, {"input": {**new, "name": "mine"}}), (DELETE, {"id": made["id"]})]:
        denied = await gql.error(query, variables, token=viewer)
        assert denied["extensions"]["code"] == "FORBIDDEN"
    for query, variables in [
        (LIST, {"ws": ws}),
        (CREATE, {"input": {**new, "name": "stolen"}}),
        (DELETE, {"id": made["id"]}),
    ]:
        hidden = await gql.error(query, variables, token=eve)
        assert hidden["extensions"]["code"] == "NOT_FOUND", query
    assert (await gql.ok(LIST, {"ws": eve_ws}, token=eve))["gitCredentials"] == []
    assert [c["name"] for c in (await gql.ok(LIST, {"ws": ws}, token=owner))["gitCredentials"]] == ["gh"]


async def test_deleting_a_credential(gql: GraphQLClient) -> None:
    token, ws = await signed_in(gql, "ada@example.com")
    made = await gql.ok(
        CREATE,
        {"input": {"workspaceId": ws, "name": "gh", "host": "github.com", "token": CANARY}},
        token=token,
    )
    credential_id = made["createGitCredential"]["gitCredential"]["id"]

    deleted = await gql.ok(DELETE, {"id": credential_id}, token=token)

    assert deleted["deleteGitCredential"]["deletedGitCredentialId"] == credential_id
    assert (await gql.ok(LIST, {"ws": ws}, token=token))["gitCredentials"] == []
    again = await gql.error(DELETE, {"id": credential_id}, token=token)
    assert again["extensions"]["code"] == "NOT_FOUND"
    unauthenticated = await gql.error(LIST, {"ws": ws})
    assert unauthenticated["extensions"]["code"] == "UNAUTHENTICATED"
