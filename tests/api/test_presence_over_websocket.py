"""Live collaboration over a real Uvicorn: two members of a workspace see each other look at a workflow,
select nodes, leave and save; presence without a stream expires after the TTL; outsiders are refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

from app.settings import Settings
from tests.api.canvas import node
from tests.api.people import add_member, create_workflow, team
from tests.api.ws_client import Subscription, subscribed
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.live import serving
from tests.redis_server import RedisServer

PRESENCE = """subscription($id: ID!) { workflowPresence(workflowId: $id) { type workflowId change
  viewer { userId name selectedNodeId } viewers { userId selectedNodeId } revision savedBy } }"""
UPDATE = """mutation($i: UpdatePresenceInput!) { updatePresence(input: $i) { viewers { userId selectedNodeId } } }"""
SAVE = "mutation($i: SaveWorkflowInput!) { saveWorkflow(input: $i) { workflow { revision } } }"
STATUS = "subscription($id: ID!) { workflowStatus(workflowId: $id) { type revision savedBy } }"


async def _team(gql: GraphQLClient) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Ada (owner) and Bob (viewer) in one team workspace, with a workflow of Ada's."""
    ada = await gql.register("ada@example.com", name="Ada")
    bob = await gql.register("bob@example.com", name="Bob")
    workspace = await team(gql, ada["token"])
    await add_member(gql, ada["token"], workspace, "bob@example.com", "VIEWER")
    workflow = await create_workflow(gql, ada["token"], workspace)
    return ada, bob, workflow


async def _next(subscription: Subscription) -> dict[str, Any]:
    payload = await asyncio.wait_for(subscription.next(), timeout=10)
    assert "errors" not in payload, payload
    event: dict[str, Any] = payload["data"]["workflowPresence"]
    return event


async def test_two_members_see_each_other_join_select_save_and_leave(
    gql: GraphQLClient, live_server: str
) -> None:
    ada, bob, wf = await _team(gql)
    ada_id, bob_id = ada["user"]["id"], bob["user"]["id"]
    async with subscribed(live_server, ada["token"]) as ada_sub:
        await ada_sub.start(PRESENCE, {"id": wf})
        first = await _next(ada_sub)
        assert first["type"] == "METADATA"
        assert first["revision"] == 1
        assert [v["userId"] for v in first["viewers"]] == [ada_id]

        async with subscribed(live_server, bob["token"]) as bob_sub:
            await bob_sub.start(PRESENCE, {"id": wf})
            bob_first = await _next(bob_sub)
            assert bob_first["type"] == "METADATA"
            assert {v["userId"] for v in bob_first["viewers"]} == {ada_id, bob_id}
            joined = await _next(ada_sub)
            assert (joined["type"], joined["change"]) == ("PRESENCE", "JOINED")
            assert joined["viewer"] == {"userId": bob_id, "name": "Bob", "selectedNodeId": None}

            updated = await gql.ok(
                UPDATE, {"i": {"workflowId": wf, "selectedNodeId": "web"}}, token=bob["token"]
            )
            assert {"userId": bob_id, "selectedNodeId": "web"} in updated["updatePresence"]["viewers"]
            selected = await _next(ada_sub)
            assert (selected["change"], selected["viewer"]["selectedNodeId"]) == ("UPDATED", "web")
            assert selected["viewer"]["userId"] == bob_id
            mine = await _next(bob_sub)  # Bob's own stream shows his selection too
            assert (mine["change"], mine["viewer"]["userId"]) == ("UPDATED", bob_id)

            await gql.ok(UPDATE, {"i": {"workflowId": wf, "selectedNodeId": "db"}}, token=ada["token"])
            ada_selected = await _next(bob_sub)
            assert ada_selected["viewer"] == {"userId": ada_id, "name": "Ada", "selectedNodeId": "db"}
            assert (await _next(ada_sub))["viewer"]["selectedNodeId"] == "db"

            nodes = [node("web", "Deployment", name="web", image="nginx:1.27")]
            saved = await gql.ok(
                SAVE,
                {"i": {"id": wf, "nodes": nodes, "edges": [], "expectedRevision": 1}},
                token=ada["token"],
            )
            assert saved["saveWorkflow"]["workflow"]["revision"] == 2
            sync = await _next(bob_sub)
            assert (sync["type"], sync["revision"], sync["savedBy"]) == ("WORKFLOW_SYNC", 2, ada_id)
            own = await _next(ada_sub)  # the saver hears it too, and can tell it was their own
            assert (own["type"], own["savedBy"]) == ("WORKFLOW_SYNC", ada_id)

        left = await _next(ada_sub)
        assert (left["type"], left["change"], left["viewer"]["userId"]) == ("PRESENCE", "LEFT", bob_id)
        assert [v["userId"] for v in left["viewers"]] == [ada_id]


async def _until(subscription: Subscription, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    while True:
        event = await _next(subscription)
        if wanted(event):
            return event


async def test_viewers_on_two_servers_see_each_other_through_the_event_bus(
    redis_server: RedisServer, settings: Settings, clock: FakeClock
) -> None:
    shared = settings.model_copy(update={"broadcast_url": redis_server.url})
    async with httpx.AsyncClient(timeout=30) as http:
        with serving(shared, clock=clock) as first_url, serving(shared, clock=clock) as second_url:
            first, second = GraphQLClient(first_url, http), GraphQLClient(second_url, http)
            ada, bob, wf = await _team(first)
            ada_id, bob_id = ada["user"]["id"], bob["user"]["id"]
            async with subscribed(first_url, ada["token"]) as ada_sub:
                await ada_sub.start(PRESENCE, {"id": wf})
                assert (await _next(ada_sub))["type"] == "METADATA"
                async with subscribed(second_url, bob["token"]) as bob_sub:
                    await bob_sub.start(PRESENCE, {"id": wf})
                    metadata = await _next(bob_sub)
                    assert metadata["type"] == "METADATA"
                    if ada_id not in {v["userId"] for v in metadata["viewers"]}:  # the answer to its hello
                        await _until(bob_sub, lambda e: e["change"] == "JOINED")
                    joined = await _until(ada_sub, lambda e: e["change"] == "JOINED")
                    assert joined["viewer"]["userId"] == bob_id
                    await second.ok(
                        UPDATE, {"i": {"workflowId": wf, "selectedNodeId": "web"}}, token=bob["token"]
                    )
                    selected = await _until(ada_sub, lambda e: e["change"] == "UPDATED")
                    assert (selected["viewer"]["userId"], selected["viewer"]["selectedNodeId"]) == (
                        bob_id,
                        "web",
                    )
                    nodes = [node("web", "Deployment", name="web", image="nginx:1.27")]
                    await first.ok(
                        SAVE,
                        {"i": {"id": wf, "nodes": nodes, "edges": [], "expectedRevision": 1}},
                        token=ada["token"],
                    )
                    sync = await _until(bob_sub, lambda e: e["type"] == "WORKFLOW_SYNC")
                    assert (sync["revision"], sync["savedBy"]) == (2, ada_id)
                left = await _until(ada_sub, lambda e: e["change"] == "LEFT")
                assert left["viewer"]["userId"] == bob_id


async def test_workflow_status_hears_every_save_with_its_revision(
    gql: GraphQLClient, live_server: str
) -> None:
    ada, bob, wf = await _team(gql)
    async with subscribed(live_server, bob["token"]) as subscription:
        await subscription.start(STATUS, {"id": wf})
        assert (await asyncio.wait_for(subscription.next(), 10))["data"]["workflowStatus"][
            "type"
        ] == "METADATA"
        await gql.ok(
            "mutation($i: UpdateWorkflowInput!) { updateWorkflow(input: $i) { workflow { revision } } }",
            {"i": {"id": wf, "name": "renamed"}},
            token=ada["token"],
        )
        event = (await asyncio.wait_for(subscription.next(), 10))["data"]["workflowStatus"]
    assert event == {"type": "WORKFLOW_SYNC", "revision": 2, "savedBy": ada["user"]["id"]}


async def test_presence_without_a_stream_expires_after_the_ttl(
    gql: GraphQLClient, live_server: str, clock: FakeClock
) -> None:
    ada, bob, wf = await _team(gql)
    async with subscribed(live_server, ada["token"]) as ada_sub:
        await ada_sub.start(PRESENCE, {"id": wf})
        assert (await _next(ada_sub))["type"] == "METADATA"
        await gql.ok(UPDATE, {"i": {"workflowId": wf, "selectedNodeId": None}}, token=bob["token"])
        joined = await _next(ada_sub)
        assert (joined["change"], joined["viewer"]["userId"]) == ("JOINED", bob["user"]["id"])
        clock.advance(seconds=31)  # TRELLIS_PRESENCE_TTL_SECONDS is 30: Bob has not been heard of since
        left = await _next(ada_sub)
        assert (left["change"], left["viewer"]["userId"]) == ("LEFT", bob["user"]["id"])
        assert [v["userId"] for v in left["viewers"]] == [ada["user"]["id"]]  # an open stream stays


async def test_someone_of_another_workspace_is_refused(gql: GraphQLClient, live_server: str) -> None:
    _, _, wf = await _team(gql)
    eve = await gql.register("eve@example.com")
    error = await gql.error(UPDATE, {"i": {"workflowId": wf, "selectedNodeId": "web"}}, token=eve["token"])
    assert error["extensions"]["code"] == "NOT_FOUND"
    async with subscribed(live_server, eve["token"]) as subscription:
        await subscription.start(PRESENCE, {"id": wf})
        message = json.loads(await asyncio.wait_for(subscription.connection.recv(), 10))
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_bad_selection_is_refused(gql: GraphQLClient, live_server: str) -> None:
    ada, _, wf = await _team(gql)
    error = await gql.error(
        UPDATE, {"i": {"workflowId": wf, "selectedNodeId": "x" * 201}}, token=ada["token"]
    )
    assert error["extensions"]["code"] == "BAD_INPUT"
