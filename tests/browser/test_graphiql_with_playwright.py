"""GraphiQL as a person uses it, in Debian's headless Chromium driven by playwright-core (npm, pinned in
tests/clients): the page comes from the live server, a query is typed into the editor and a token into the
Headers tab, the run button is pressed, and the signed-in user's data shows in the response pane.

The screenshot of that moment is kept as a test artefact: tests/artifacts/graphiql-query.png (the folder is
ignored by git; set TRELLIS_TEST_ARTIFACTS to put it elsewhere, e.g. a CI artefact folder). The test prints
the path."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.chromium import CHROMIUM_FLAGS, chromium
from tests.clients.operations import CLIENTS_DIR, ROOT, node_with_packages
from tests.graphql_client import GraphQLClient

pytestmark = pytest.mark.browser

QUERY = "query Mine { me { email role } workflows { totalCount } }"


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("TRELLIS_TEST_ARTIFACTS") or ROOT / "tests" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def test_graphiql_runs_a_typed_query_with_a_token_from_the_headers_editor(
    gql: GraphQLClient, live_server: str
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    await gql.ok('mutation { createWorkflow(input: {name: "shop"}) { workflow { id } } }', token=token)
    screenshot = artifacts_dir() / "graphiql-query.png"
    screenshot.unlink(missing_ok=True)
    config = {
        "chromium": chromium(),
        "flags": list(CHROMIUM_FLAGS),
        "url": f"{live_server}/graphql",
        "query": QUERY,
        "headers": json.dumps({"Authorization": f"Bearer {token}"}),
        "expect": "ada@example.com",
        "screenshot": str(screenshot),
    }
    node = await asyncio.create_subprocess_exec(
        node_with_packages(), "graphiql.mjs", json.dumps(config), cwd=CLIENTS_DIR, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(node.communicate(), 60)
    assert node.returncode == 0, (stdout + stderr).decode()
    seen = json.loads(stdout.decode().strip().splitlines()[-1])
    print(f"GraphiQL screenshot: {screenshot}")

    assert seen["query"] == QUERY, "the typed text is not what the editor holds"
    assert json.loads(seen["headers"]) == {"Authorization": f"Bearer {token}"}
    assert json.loads(seen["response"]) == {
        "data": {"me": {"email": "ada@example.com", "role": "ADMIN"}, "workflows": {"totalCount": 1}}
    }
    origin = urlsplit(live_server).netloc
    assert {urlsplit(url).netloc for url in seen["requests"] if not url.startswith("data:")} == {origin}
    assert seen["consoleErrors"] == []
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
