"""`trellis import compose` sends a project from disk: its compose files, its `.env`, and the files they
point at (secrets and configs files, single-file bind mounts, includes) relative to the first file's
folder — the corpus projects in place, as they are on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Trellis
from tests.compose.test_corpus_analyses_cleanly import CORPUS
from tests.graphql_client import GraphQLClient

GOLANG = CORPUS / "awesome-compose" / "nginx-golang-postgres"
INCLUDES = CORPUS / "stacks" / "compose-go-include-extends"
SECRET_VALUES = "query($wf: ID!) { secretKeys(workflowId: $wf) { nodeId keys } }"

pytestmark = pytest.mark.skipif(not GOLANG.is_dir(), reason=f"the compose corpus is not at {CORPUS}")


@pytest.fixture
async def token(gql: GraphQLClient, live_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    token: str = (await gql.register("ada@example.com"))["token"]
    monkeypatch.setenv("TRELLIS_TOKEN", token)
    monkeypatch.setenv("TRELLIS_URL", live_server)
    return token


async def test_a_corpus_project_becomes_a_workflow_with_its_files(
    gql: GraphQLClient, token: str, trellis: Trellis
) -> None:
    result = await trellis(
        "import", "compose", str(GOLANG / "compose.yaml"), "--name", "golang", "--output", "json"
    )
    assert result.code == 0, result.err
    imported = result.json()
    assert sorted(imported["sentProjectFiles"]) == ["db/password.txt", "proxy/nginx.conf"]
    workflow = imported["workflow"]
    assert workflow["name"] == "golang"
    assert imported["importedNodeIds"]
    assert all(set(w) == {"code", "message", "service", "field"} for w in imported["warnings"])
    stored = await gql.ok(
        "query($id: ID!) { workflow(id: $id) { nodes { id kind data } } }",
        {"id": workflow["id"]},
        token=token,
    )
    nodes = stored["workflow"]["nodes"]
    assert {"Deployment", "StatefulSet"} & {n["kind"] for n in nodes}
    assert any("nginx.conf" in str(n["data"]) for n in nodes if n["kind"] == "ConfigMap")
    secrets = (await gql.ok(SECRET_VALUES, {"wf": workflow["id"]}, token=token))["secretKeys"]
    assert secrets and secrets == imported["secrets"]

    text = await trellis("import", "compose", str(GOLANG / "compose.yaml"), "--name", "golang-2")
    assert text.code == 0
    assert text.out.startswith("imported ")
    assert "into workflow golang-2 (" in text.out


async def test_includes_are_sent_and_a_dry_run_writes_nothing(
    gql: GraphQLClient, token: str, trellis: Trellis
) -> None:
    first = sorted(p for p in INCLUDES.iterdir() if p.suffix in (".yaml", ".yml"))[0]
    result = await trellis("import", "compose", str(first), "--dry-run", "--output", "json")
    assert result.code == 0, result.err
    analysis = result.json()
    assert analysis["errors"] == []
    assert analysis["services"]
    assert analysis["sentProjectFiles"]  # the included and extended files
    workflows = await gql.ok("query { workflows { totalCount } }", token=token)
    assert workflows["workflows"]["totalCount"] == 0


async def test_bad_input_prints_the_field_errors_and_exits_6(
    token: str, trellis: Trellis, tmp_path: Path
) -> None:
    result = await trellis("import", "compose", str(GOLANG / "compose.yaml"), "--name", "x" * 101)
    assert result.code == 6
    assert "BAD_INPUT" in result.err
    assert "name" in result.err.split("BAD_INPUT", 1)[1]

    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  web:\n    image: [not, an, image]\n")
    dry = await trellis("import", "compose", str(broken), "--dry-run")
    assert dry.code == 6
    assert "error:" in dry.out

    no_file = await trellis("import", "compose", str(tmp_path / "missing.yaml"), "--name", "x")
    assert no_file.code == 2
    assert "cannot read" in no_file.err
