"""The fixtures and the server handle themselves: kubeconfig, clients, independent servers, lifecycle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client import ApiClient

from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap


async def test_kubeconfig_file_is_what_the_real_loader_reads(kube_api: KubeApiServer, tmp_path: Path) -> None:
    path = kube_api.kubeconfig(tmp_path / "kube" / "config", namespace="team")
    document = yaml.safe_load(path.read_text())
    assert document["clusters"][0]["cluster"] == {"server": kube_api.url}
    assert document["contexts"][0]["context"]["namespace"] == "team"
    loader = await config.load_kube_config(config_file=str(path), client_configuration=client.Configuration())
    assert loader.current_context["context"]["namespace"] == "team"


async def test_kube_client_talks_to_kube_api(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    assert kube_client.configuration.host == kube_api.url
    kube_api.create(configmap("seen"))
    names = [
        c.metadata.name
        for c in (await client.CoreV1Api(kube_client).list_namespaced_config_map("default")).items
    ]
    assert names == ["seen"]


async def test_servers_are_independent(kube_api_factory: Any) -> None:
    one, two = await kube_api_factory(), await kube_api_factory()
    one.create(configmap("only-here"))
    assert one.port != two.port
    assert two.get("ConfigMap", "default", "only-here") is None


async def test_a_fresh_cluster(kube_api: KubeApiServer) -> None:
    assert [n["metadata"]["name"] for n in kube_api.list("Namespace")] == [
        "default",
        "kube-node-lease",
        "kube-public",
        "kube-system",
    ]
    (node,) = kube_api.list("Node")
    assert node["status"]["conditions"][0]["type"] == "Ready"
    assert kube_api.list("Pod") == []


async def test_context_manager_lifecycle() -> None:
    async with KubeApiServer() as server:
        configuration = await server.client_configuration()
        async with ApiClient(configuration) as api:
            assert (await client.VersionApi(api).get_code()).git_version == server.version
    assert not server.running
