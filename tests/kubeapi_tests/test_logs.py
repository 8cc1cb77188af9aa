"""Pod logs: plain reads, tailLines, timestamps, sinceSeconds, follow streams, previous, and the errors."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.client.rest import ApiException

from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import pod


@pytest.fixture
def running_pod(kube_api: KubeApiServer) -> str:
    kube_api.create(pod("p", containers=("app", "sidecar")))
    kube_api.pods.running("default", "p")
    return "p"


async def test_read_tail_and_timestamps(
    kube_api: KubeApiServer, kube_client: ApiClient, running_pod: str
) -> None:
    kube_api.append_log("default", "p", "app", "one\ntwo")
    kube_api.append_log("default", "p", "app", "three")
    v1 = client.CoreV1Api(kube_client)
    assert await v1.read_namespaced_pod_log("p", "default", container="app") == "one\ntwo\nthree\n"
    assert await v1.read_namespaced_pod_log("p", "default", container="app", tail_lines=2) == "two\nthree\n"
    stamped = await v1.read_namespaced_pod_log("p", "default", container="app", tail_lines=1, timestamps=True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z three\n", stamped)
    assert await v1.read_namespaced_pod_log("p", "default", container="app", limit_bytes=6) == "one\ntw"


async def test_since_seconds(kube_api: KubeApiServer, kube_client: ApiClient, running_pod: str) -> None:
    kube_api.append_log("default", "p", "app", "old", at=datetime.now(UTC) - timedelta(hours=1))
    kube_api.append_log("default", "p", "app", "new")
    v1 = client.CoreV1Api(kube_client)
    assert await v1.read_namespaced_pod_log("p", "default", container="app", since_seconds=60) == "new\n"


async def test_container_must_be_named_and_valid(kube_client: ApiClient, running_pod: str) -> None:
    v1 = client.CoreV1Api(kube_client)
    with pytest.raises(ApiException) as info:
        await v1.read_namespaced_pod_log("p", "default")
    assert info.value.status == 400
    assert json.loads(info.value.body)["message"] == (
        "a container name must be specified for pod p, choose one of: [app sidecar]"
    )
    with pytest.raises(ApiException) as info:
        await v1.read_namespaced_pod_log("p", "default", container="nope")
    assert json.loads(info.value.body)["message"] == "container nope is not valid for pod p"
    with pytest.raises(ApiException) as info:
        await v1.read_namespaced_pod_log("ghost", "default")
    assert info.value.status == 404


async def test_waiting_and_unscheduled_pods(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    kube_api.create(pod("pending"))
    with pytest.raises(ApiException) as info:
        await v1.read_namespaced_pod_log("pending", "default")
    assert json.loads(info.value.body)["message"] == "pod pending does not have a host assigned"
    kube_api.create(pod("pulling"))
    kube_api.pods.image_pull_backoff("default", "pulling")
    with pytest.raises(ApiException) as info:
        await v1.read_namespaced_pod_log("pulling", "default")
    assert json.loads(info.value.body)["message"] == (
        'container "app" in pod "pulling" is waiting to start: trying and failing to pull image'
    )


async def test_follow_streams_until_the_container_ends(
    kube_api: KubeApiServer, kube_client: ApiClient, running_pod: str
) -> None:
    kube_api.append_log("default", "p", "app", "before")
    v1 = client.CoreV1Api(kube_client)
    response = await v1.read_namespaced_pod_log(
        "p", "default", container="app", follow=True, _preload_content=False
    )
    assert await asyncio.wait_for(response.content.readline(), 5) == b"before\n"
    kube_api.append_log("default", "p", "app", "live")
    assert await asyncio.wait_for(response.content.readline(), 5) == b"live\n"
    kube_api.end_log("default", "p", "app")
    assert await asyncio.wait_for(response.content.readline(), 5) == b""
    response.release()


async def test_follow_through_the_watch_helper(
    kube_api: KubeApiServer, kube_client: ApiClient, running_pod: str
) -> None:
    v1 = client.CoreV1Api(kube_client)
    kube_api.append_log("default", "p", "sidecar", "a\nb")
    lines = []
    async with watch.Watch() as w:
        async for line in w.stream(v1.read_namespaced_pod_log, "p", "default", container="sidecar"):
            lines.append(line)
            if len(lines) == 2:
                kube_api.append_log("default", "p", "sidecar", "c")
            if len(lines) == 3:
                kube_api.end_log("default", "p")
    assert lines == ["a\n", "b\n", "c\n"]


async def test_previous_container_logs(
    kube_api: KubeApiServer, kube_client: ApiClient, running_pod: str
) -> None:
    v1 = client.CoreV1Api(kube_client)
    with pytest.raises(ApiException) as info:
        await v1.read_namespaced_pod_log("p", "default", container="app", previous=True)
    assert (
        json.loads(info.value.body)["message"] == 'previous terminated container "app" in pod "p" not found'
    )
    kube_api.append_log("default", "p", "app", "crashed")
    kube_api.restart_container_log("default", "p", "app")
    kube_api.append_log("default", "p", "app", "restarted")
    assert await v1.read_namespaced_pod_log("p", "default", container="app", previous=True) == "crashed\n"
    assert await v1.read_namespaced_pod_log("p", "default", container="app") == "restarted\n"
