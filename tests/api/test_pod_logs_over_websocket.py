"""podLogs streams a node's pod logs over a real WebSocket and ends when the pod's log does."""

from __future__ import annotations

from typing import Any

from tests.api.test_exec_terminal_over_websocket import _pod_of_a_node
from tests.api.ws_client import subscribed
from tests.graphql_client import GraphQLClient

LOGS = """subscription($wf: ID!, $pod: String) { podLogs(workflowId: $wf, nodeId: "web", pod: $pod, tailLines: 2) {
  pod line } }"""


async def test_pod_logs_tail_then_follow_until_the_log_ends(
    kube_api: Any, gql: GraphQLClient, live_server: str
) -> None:
    token, wf = await _pod_of_a_node(gql, kube_api)
    for line in ("one", "two", "three"):
        kube_api.append_log("default", "web-1", "web", line)
    async with subscribed(live_server, token) as subscription:
        await subscription.start(LOGS, {"wf": wf, "pod": None})
        first = [(await subscription.next())["data"]["podLogs"] for _ in range(2)]
        kube_api.append_log("default", "web-1", "web", "four")
        later = (await subscription.next())["data"]["podLogs"]
        kube_api.end_log("default", "web-1")
        end = await subscription.next()
    assert first == [{"pod": "web-1", "line": "two"}, {"pod": "web-1", "line": "three"}]
    assert later == {"pod": "web-1", "line": "four"}
    assert end == {"complete": True}


async def test_a_pod_of_another_node_is_refused(kube_api: Any, gql: GraphQLClient, live_server: str) -> None:
    token, wf = await _pod_of_a_node(gql, kube_api)
    async with subscribed(live_server, token) as subscription:
        await subscription.start(LOGS, {"wf": wf, "pod": "someone-else"})
        message = await subscription.next()
    assert message["errors"][0]["extensions"]["code"] == "BAD_INPUT"
