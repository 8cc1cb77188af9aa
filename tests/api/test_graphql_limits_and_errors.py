"""Limits on every operation, error codes for bad documents, health and readiness."""

from __future__ import annotations

import httpx

from app.settings import Settings
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.live import serving


async def test_syntax_and_validation_errors_are_bad_input(gql: GraphQLClient) -> None:
    broken = await gql.error("query { me { id ")
    assert broken["extensions"]["code"] == "BAD_INPUT"
    unknown = await gql.error("query { nope }")
    assert unknown["extensions"]["code"] == "BAD_INPUT"
    wrong_var = await gql.error("query($id: ID!) { workflow(id: $id) { id } }", {"id": {"not": "an id"}})
    assert wrong_var["extensions"]["code"] == "BAD_INPUT"


async def test_depth_limit(settings: Settings, clock: FakeClock, http: httpx.AsyncClient) -> None:
    # The schema has no cycles deep enough for the default limit (12), so a server with a limit of 3
    # (depth counts from 0 at the top-level field: `workflows { edges { node { id } } }` is depth 3).
    shallow = settings.model_copy(update={"max_query_depth": 3})
    with serving(shallow, clock=clock) as url:
        gql = GraphQLClient(url, http)
        token = (await gql.register("ada@example.com"))["token"]
        await gql.ok("query { workflows { edges { node { id } } } }", token=token)
        error = await gql.error("query { workflows { edges { node { workspace { id } } } } }", token=token)
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert "exceeds maximum operation depth" in error["message"]


async def test_alias_and_token_limits(gql: GraphQLClient) -> None:
    aliases = "query { " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"
    error = await gql.error(aliases)
    assert error["extensions"]["code"] == "BAD_INPUT" and "alias" in error["message"].lower()
    tokens = "query { " + " ".join("__typename" for _ in range(6000)) + " }"
    error = await gql.error(tokens)
    assert error["extensions"]["code"] == "BAD_INPUT" and "token" in error["message"].lower()


async def test_batches_are_limited(live_server: str, http: httpx.AsyncClient) -> None:
    small = [{"query": "{ __typename }"}] * 3
    response = await http.post(f"{live_server}/graphql", json=small)
    assert (
        response.status_code == 200 and [r["data"] for r in response.json()] == [{"__typename": "Query"}] * 3
    )
    large = [{"query": "{ __typename }"}] * 11
    response = await http.post(f"{live_server}/graphql", json=large)
    assert response.status_code == 400


async def test_introspection_is_allowed_for_explorers(gql: GraphQLClient) -> None:
    data = await gql.ok("query { __schema { queryType { name } types { name } } }")
    names = {t["name"] for t in data["__schema"]["types"]}
    assert {"Workflow", "ErrorCode", "CanvasNode", "WorkflowConnection"} <= names


async def test_health_and_readiness(live_server: str, http: httpx.AsyncClient) -> None:
    health = await http.get(f"{live_server}/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = await http.get(f"{live_server}/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"store": "ok"}
    assert health.headers["x-request-id"]


async def test_graphiql_is_served_to_browsers(live_server: str, http: httpx.AsyncClient) -> None:
    page = await http.get(f"{live_server}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert "unpkg.com" not in page.text and "cdn" not in page.text.lower()
