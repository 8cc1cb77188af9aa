"""watch=true: events, resourceVersion replay, 410 Expired, bookmarks, timeouts, selectors, dropped streams."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.client.rest import ApiException
from kubernetes_asyncio.dynamic import DynamicClient

from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap, deployment

TRELLIS = {"app.kubernetes.io/managed-by": "trellis"}


async def next_event(stream: watch.Watch, within: float = 5) -> dict[str, Any]:
    return await asyncio.wait_for(stream.__anext__(), within)


def summary(event: dict[str, Any]) -> tuple[str, str]:
    obj = event["raw_object"]
    return event["type"], obj["metadata"].get("name", "")


async def test_events_from_a_list_resource_version(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    listing = await v1.list_namespaced_config_map("default")
    kube_api.create(configmap("a"))
    async with watch.Watch() as w:
        stream = w.stream(
            v1.list_namespaced_config_map,
            "default",
            resource_version=listing.metadata.resource_version,
            timeout_seconds=10,
        )
        first = await next_event(stream)
        assert summary(first) == ("ADDED", "a") and first["object"].metadata.name == "a"
        await v1.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})
        modified = await next_event(stream)
        assert summary(modified) == ("MODIFIED", "a") and modified["object"].data == {"k": "v"}
        await v1.delete_namespaced_config_map("a", "default")
        deleted = await next_event(stream)
        assert summary(deleted) == ("DELETED", "a")
        assert int(deleted["raw_object"]["metadata"]["resourceVersion"]) == kube_api.resource_version
        assert deleted["raw_object"]["kind"] == "ConfigMap"


async def test_watch_without_resource_version_starts_with_current_state(
    kube_api: KubeApiServer, kube_client: ApiClient
) -> None:
    kube_api.create(configmap("a"))
    kube_api.create(configmap("b"))
    v1 = client.CoreV1Api(kube_client)
    async with watch.Watch() as w:
        stream = w.stream(v1.list_namespaced_config_map, "default", timeout_seconds=10)
        assert [summary(await next_event(stream)) for _ in range(2)] == [("ADDED", "a"), ("ADDED", "b")]
        kube_api.create(configmap("c"))
        assert summary(await next_event(stream)) == ("ADDED", "c")


async def test_label_selector_filters_and_reports_transitions(
    kube_api: KubeApiServer, kube_client: ApiClient
) -> None:
    v1 = client.CoreV1Api(kube_client)
    rv = (await v1.list_namespaced_config_map("default")).metadata.resource_version
    async with watch.Watch() as w:
        stream = w.stream(
            v1.list_namespaced_config_map,
            "default",
            resource_version=rv,
            timeout_seconds=10,
            label_selector="app.kubernetes.io/managed-by=trellis",
        )
        kube_api.create(configmap("other"))
        kube_api.create(configmap("ours", labels=TRELLIS))
        assert summary(await next_event(stream)) == ("ADDED", "ours")
        await v1.patch_namespaced_config_map("other", "default", {"metadata": {"labels": TRELLIS}})
        assert summary(await next_event(stream)) == ("ADDED", "other")  # now selected
        await v1.patch_namespaced_config_map(
            "ours",
            "default",
            {"metadata": {"labels": {"app.kubernetes.io/managed-by": None}}},
            _content_type="application/merge-patch+json",
        )
        assert summary(await next_event(stream)) == ("DELETED", "ours")  # no longer selected
        await v1.delete_namespaced_config_map("ours", "default")  # unselected: no event
        await v1.delete_namespaced_config_map("other", "default")
        assert summary(await next_event(stream)) == ("DELETED", "other")


async def test_too_old_resource_version_is_410_expired(
    kube_api: KubeApiServer, kube_client: ApiClient
) -> None:
    v1 = client.CoreV1Api(kube_client)
    old = (await v1.list_namespaced_config_map("default")).metadata.resource_version
    kube_api.create(configmap("a"))
    kube_api.compact()
    raw = await v1.list_namespaced_config_map(
        "default", watch=True, resource_version=old, _preload_content=False
    )
    assert raw.status == 200
    line = json.loads(await raw.content.readline())
    assert line == {
        "type": "ERROR",
        "object": {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f"too old resource version: {old} ({kube_api.resource_version})",
            "reason": "Expired",
            "code": 410,
        },
    }
    assert await raw.content.readline() == b""  # the stream ends after the error
    raw.release()
    async with watch.Watch() as w:
        with pytest.raises(ApiException) as info:
            async for _ in w.stream(
                v1.list_namespaced_config_map, "default", resource_version=old, timeout_seconds=5
            ):
                pass
    assert info.value.status == 410
    # the watch pool's answer: list again and watch from the new resourceVersion
    fresh = await v1.list_namespaced_config_map("default")
    async with watch.Watch() as w:
        stream = w.stream(
            v1.list_namespaced_config_map,
            "default",
            resource_version=fresh.metadata.resource_version,
            timeout_seconds=5,
        )
        kube_api.create(configmap("b"))
        assert summary(await next_event(stream)) == ("ADDED", "b")


async def test_bounded_history_expires_old_versions(kube_api_factory: Any) -> None:
    kube_api = await kube_api_factory(history_size=3)
    start = kube_api.resource_version
    for i in range(5):
        kube_api.create(configmap(f"c{i}"))
    configuration = await kube_api.client_configuration()
    async with client.ApiClient(configuration) as api:
        v1 = client.CoreV1Api(api)
        raw = await v1.list_namespaced_config_map(
            "default", watch=True, resource_version=start, _preload_content=False
        )
        assert json.loads(await raw.content.readline())["object"]["code"] == 410
        raw.release()
        recent = kube_api.resource_version - 2
        async with watch.Watch() as w:
            stream = w.stream(
                v1.list_namespaced_config_map, "default", resource_version=recent, timeout_seconds=5
            )
            assert [summary(await next_event(stream)) for _ in range(2)] == [("ADDED", "c3"), ("ADDED", "c4")]


async def test_bookmarks_on_demand(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    rv = (await v1.list_namespaced_config_map("default")).metadata.resource_version
    kube_api.create(configmap("elsewhere", "kube-system"))  # moves the resourceVersion, not seen here
    async with watch.Watch() as w:
        stream = w.stream(
            v1.list_namespaced_config_map,
            "default",
            resource_version=rv,
            timeout_seconds=10,
            allow_watch_bookmarks=True,
        )
        task = asyncio.ensure_future(next_event(stream))
        await kube_api.wait_for_watches()
        kube_api.send_bookmark()
        event = await task
        assert event["type"] == "BOOKMARK"
        assert event["raw_object"] == {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": str(kube_api.resource_version), "creationTimestamp": None},
        }
        assert w.resource_version == str(kube_api.resource_version)


async def test_no_bookmarks_unless_asked(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    kube_api.bookmark_interval = 0.01
    v1 = client.CoreV1Api(kube_client)
    rv = (await v1.list_namespaced_config_map("default")).metadata.resource_version
    async with watch.Watch() as w:
        stream = w.stream(v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=10)
        task = asyncio.ensure_future(next_event(stream))
        await kube_api.wait_for_watches()
        kube_api.send_bookmark()
        await asyncio.sleep(0.05)
        kube_api.create(configmap("a"))
        assert summary(await task) == ("ADDED", "a")


async def test_periodic_bookmarks(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    kube_api.bookmark_interval = 0.05
    v1 = client.CoreV1Api(kube_client)
    async with watch.Watch() as w:
        stream = w.stream(
            v1.list_namespaced_config_map, "default", timeout_seconds=10, allow_watch_bookmarks=True
        )
        kinds = [(await next_event(stream))["type"] for _ in range(2)]
    assert kinds == ["BOOKMARK", "BOOKMARK"]


async def test_send_initial_events_ends_with_a_bookmark(
    kube_api: KubeApiServer, kube_client: ApiClient
) -> None:
    kube_api.create(configmap("a"))
    v1 = client.CoreV1Api(kube_client)
    raw = await v1.list_namespaced_config_map(
        "default",
        watch=True,
        allow_watch_bookmarks=True,
        send_initial_events=True,
        resource_version_match="NotOlderThan",
        timeout_seconds=1,
        _preload_content=False,
    )
    first = json.loads(await raw.content.readline())
    second = json.loads(await raw.content.readline())
    raw.release()
    assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "a")
    assert second["type"] == "BOOKMARK"
    assert second["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_timeout_seconds_ends_the_stream(kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    started = time.monotonic()
    async with watch.Watch() as w:
        events = [e async for e in w.stream(v1.list_namespaced_config_map, "default", timeout_seconds=1)]
    assert events == [] and 0.9 < time.monotonic() - started < 3


async def test_drop_watches_ends_streams(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    async with watch.Watch() as w:
        stream = w.stream(v1.list_namespaced_config_map, "default", timeout_seconds=30)
        task = asyncio.ensure_future(next_event(stream))
        await kube_api.wait_for_watches()
        kube_api.drop_watches()
        with pytest.raises(StopAsyncIteration):
            await task
    assert kube_api.open_watches == 0


async def test_client_resumes_after_a_dropped_watch(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    """Without timeout_seconds kubernetes_asyncio re-watches from the last resourceVersion it saw."""
    v1 = client.CoreV1Api(kube_client)
    rv = (await v1.list_namespaced_config_map("default")).metadata.resource_version
    async with watch.Watch() as w:
        stream = w.stream(v1.list_namespaced_config_map, "default", resource_version=rv)
        kube_api.create(configmap("a"))
        assert summary(await next_event(stream)) == ("ADDED", "a")
        kube_api.drop_watches()
        kube_api.create(configmap("b"))
        assert summary(await next_event(stream)) == ("ADDED", "b")
    watches = [r for r in kube_api.requests if r.query.get("watch")]
    assert (
        len(watches) == 2
        and watches[1].query["resourceVersion"]
        == kube_api.get("ConfigMap", "default", "a")["metadata"]["resourceVersion"]
    )


async def test_all_namespaces_watch_and_field_selector(
    kube_api: KubeApiServer, kube_client: ApiClient, dynamic: DynamicClient
) -> None:
    apps = client.AppsV1Api(kube_client)
    async with watch.Watch() as w:
        stream = w.stream(apps.list_deployment_for_all_namespaces, timeout_seconds=10)
        kube_api.create(deployment("web", "kube-system"))
        event = await next_event(stream)
        assert (event["type"], event["object"].metadata.namespace) == ("ADDED", "kube-system")
    resource = await dynamic.resources.get(api_version="v1", kind="ConfigMap")
    kube_api.create(configmap("a"))
    kube_api.create(configmap("b"))
    seen = []
    async for event in dynamic.watch(resource, namespace="default", name="b", timeout=1):
        seen.append((event["type"], event["object"].metadata.name))
    assert seen == [("ADDED", "b")]
