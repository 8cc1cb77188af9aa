"""Every state-changing operation leaves an audit entry (who, what, target, when, outcome), never a secret."""

from __future__ import annotations

from app.domain.audit import AuditOutcome
from app.settings import Settings
from app.store.opening import open_store
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient

LOGIN = "mutation($input: LoginInput!) { login(input: $input) { token } }"


async def test_operations_and_failures_are_audited(
    gql: GraphQLClient, settings: Settings, clock: FakeClock
) -> None:
    ada = await gql.register("ada@example.com", password="a long passphrase")
    token = ada["token"]
    created = await gql.ok(
        'mutation { createWorkflow(input: {name: "shop"}) { workflow { id } } }', token=token
    )
    wf = created["createWorkflow"]["workflow"]["id"]
    await gql.ok(
        "mutation($id: ID!) { updateWorkflow(input: {id: $id, status: PUBLISHED}) { workflow { id } } }",
        {"id": wf},
        token=token,
    )
    await gql.error(LOGIN, {"input": {"email": "ada@example.com", "password": "the wrong one"}})

    store = await open_store(settings.resolved_store_url)
    try:
        entries = await store.list_audit(50)
    finally:
        await store.close()
    seen = [(e.action, e.outcome, e.target_id) for e in reversed(entries)]
    assert seen == [
        ("auth.register", AuditOutcome.SUCCESS, ada["user"]["id"]),
        ("workflow.create", AuditOutcome.SUCCESS, wf),
        ("workflow.update", AuditOutcome.SUCCESS, wf),
        ("auth.login", AuditOutcome.FAILURE, ada["user"]["id"]),
    ]
    update = next(e for e in entries if e.action == "workflow.update")
    assert update.actor_id == ada["user"]["id"]
    assert update.detail == {"from": "DRAFT", "to": "PUBLISHED"}
    assert update.at == clock.now() and update.workspace_id
    failed = next(e for e in entries if e.action == "auth.login")
    assert failed.error_code == "UNAUTHENTICATED" and failed.actor_id is None
    assert not any("passphrase" in str(e) or "wrong one" in str(e) for e in entries)
