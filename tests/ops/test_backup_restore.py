"""`trellis backup` / `trellis restore` round trip on SQLite through the real command: what a server
stored is read back through the API of a server started on the restored store (sign-in, workflows,
versions, clusters), and encrypted values still decrypt with the same keys (a run applies the stored
Secret value). A restore refuses a store that holds anything, and a backup from a newer schema or a
truncated one, writing nothing."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cli import main
from app.settings import Settings
from app.store.opening import open_store
from tests.api.canvas import node
from tests.api.clusters import register_kubeconfig
from tests.graphql_client import GraphQLClient
from tests.live import serving

PASSWORD = "correct horse battery"
RUN = "mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id } } }"
GET_RUN = "query($id: ID!) { run(id: $id) { status error } }"
READ = """query($wf: ID!) {
  me { email }
  workflow(id: $wf) { name namespace nodes { id kind } }
  versions(workflowId: $wf) { edges { node { number tag } } }
  secretKeys(workflowId: $wf) { nodeId keys }
  clusters { name server }
}"""


def _use(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """The environment `trellis` reads its settings from (as an operator's shell would hold)."""
    monkeypatch.setenv("TRELLIS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TRELLIS_JWT_SECRET", settings.jwt_secret.get_secret_value())
    monkeypatch.setenv("TRELLIS_ENCRYPTION_KEYS", settings.encryption_keys.get_secret_value())


async def _trellis(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def _populate(gql: GraphQLClient, kube_api: Any) -> str:
    token: str = (await gql.register("ada@example.com", PASSWORD))["token"]
    cluster = await register_kubeconfig(gql, token, kube_api, name="lab")
    wf: str = (
        await gql.ok(
            'mutation($c: ID!) { createWorkflow(input: {name: "shop", namespace: "shop", clusterId: $c}) '
            "{ workflow { id } } }",
            {"c": cluster["id"]},
            token=token,
        )
    )["createWorkflow"]["workflow"]["id"]
    nodes = [
        node("ns", "Namespace", name="shop"),
        node("db", "Secret", name="db", keys=[{"id": "k1", "name": "PASSWORD"}]),
    ]
    await gql.ok(
        "mutation($i: SaveWorkflowInput!) { saveWorkflow(input: $i) { workflow { id } } }",
        {"i": {"id": wf, "nodes": nodes, "edges": [], "expectedRevision": 1}},
        token=token,
    )
    await gql.ok(
        """mutation($wf: ID!) { setSecretValues(input: {workflowId: $wf, nodeId: "db",
           values: [{key: "PASSWORD", value: "hunter2-stored"}]}) { secret { keys } } }""",
        {"wf": wf},
        token=token,
    )
    for tag in ("v1", "v2"):
        await gql.ok(
            "mutation($wf: ID!, $t: String) { createVersion(input: {workflowId: $wf, tag: $t}) "
            "{ version { number } } }",
            {"wf": wf, "t": tag},
            token=token,
        )
    return wf


async def _finished(gql: GraphQLClient, token: str, run_id: str) -> dict[str, Any]:
    for _ in range(500):
        run: dict[str, Any] = (await gql.ok(GET_RUN, {"id": run_id}, token=token))["run"]
        if run["status"] not in ("PENDING", "RUNNING"):
            return run
        await asyncio.sleep(0.02)
    raise AssertionError("the run never finished")


async def test_a_backup_restored_into_a_fresh_store_serves_everything_again(
    kube_api: Any, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = tmp_path / "trellis.backup.jsonl"
    restored = settings.model_copy(update={"data_dir": tmp_path / "restored"})
    async with httpx.AsyncClient(timeout=30) as http:
        with serving(settings) as url:
            gql = GraphQLClient(url, http)
            wf = await _populate(gql, kube_api)
            token = (
                await gql.ok(
                    "mutation($i: LoginInput!) { login(input: $i) { token } }",
                    {"i": {"email": "ada@example.com", "password": PASSWORD}},
                )
            )["login"]["token"]
            before = await gql.ok(READ, {"wf": wf}, token=token)
            _use(monkeypatch, settings)
            assert await _trellis("backup", "--output", str(backup)) == 0  # while the server runs

        _use(monkeypatch, restored)
        assert await _trellis("restore", "--input", str(backup)) == 0
        with serving(restored) as url:
            gql = GraphQLClient(url, http)
            login = await gql.ok(
                "mutation($i: LoginInput!) { login(input: $i) { token } }",
                {"i": {"email": "ada@example.com", "password": PASSWORD}},
            )
            token = login["login"]["token"]
            after = await gql.ok(READ, {"wf": wf}, token=token)
            run_id = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
            run = await _finished(gql, token, run_id)

    text = backup.read_text()
    assert "hunter2" not in text  # ciphertexts copied as they are
    header = json.loads(text.splitlines()[0])
    assert header["format"] == "trellis-backup"
    assert header["backend"] == "sqlite"
    assert {"users", "workflows", "versions", "secret_values", "clusters", "audit_events"} <= set(
        header["tables"]
    )
    assert not {"leases", "exec_tickets", "oauth_states", "oauth_codes"} & set(header["tables"])
    assert after == before
    assert [e["node"]["tag"] for e in after["versions"]["edges"]] == ["v2", "v1"]
    assert run["status"] == "COMPLETED", run
    secret = kube_api.get("Secret", "shop", "db")
    value = (
        secret.get("data", {}).get("PASSWORD")
        or base64.b64encode(secret["stringData"]["PASSWORD"].encode()).decode()
    )
    assert base64.b64decode(value).decode() == "hunter2-stored"


async def _backup_of_one_user(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    with serving(settings) as url:
        async with httpx.AsyncClient(timeout=30) as http:
            await GraphQLClient(url, http).register("ada@example.com", PASSWORD)
    backup = tmp_path / "one.jsonl"
    _use(monkeypatch, settings)
    assert await _trellis("backup", "--output", str(backup)) == 0
    return backup


async def _record_counts(settings: Settings) -> dict[str, int]:
    store = await open_store(settings.resolved_store_url)
    try:
        snapshot = await store.export_all()
    finally:
        await store.close()
    return {name: len(rows) for name, rows in snapshot.tables.items() if rows}


async def test_a_restore_refuses_a_store_that_holds_records(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = await _backup_of_one_user(settings, tmp_path, monkeypatch)
    before = await _record_counts(settings)
    assert await _trellis("restore", "--input", str(backup)) == 1
    assert "not empty" in capsys.readouterr().err
    assert await _record_counts(settings) == before  # nothing written twice


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda lines: [lines[0].replace('"migration": ', '"migration": 9'), *lines[1:]], "newer Trellis"),
        (lambda lines: lines[:-1], "truncated"),
        (lambda lines: [lines[0].replace('"formatVersion": 1', '"formatVersion": 2'), *lines[1:]], "format"),
        (lambda lines: ["{}", *lines[1:]], "not a Trellis backup"),
    ],
    ids=["newer-migration", "truncated", "newer-format", "not-a-backup"],
)
async def test_a_restore_refuses_a_backup_it_cannot_trust_and_writes_nothing(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    damage: Any,
    message: str,
) -> None:
    backup = await _backup_of_one_user(settings, tmp_path, monkeypatch)
    backup.write_text("\n".join(damage(backup.read_text().splitlines())) + "\n")
    empty = settings.model_copy(update={"data_dir": tmp_path / "empty"})
    _use(monkeypatch, empty)
    capsys.readouterr()
    assert await _trellis("restore", "--input", str(backup)) == 1
    assert message in capsys.readouterr().err
    assert await _record_counts(empty) == {}
