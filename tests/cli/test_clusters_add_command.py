"""`trellis clusters add` registers clusters from a local kubeconfig through the API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import main
from tests.graphql_client import GraphQLClient


async def test_registers_the_current_context_with_files_embedded(
    gql: GraphQLClient,
    live_server: str,
    kube_api_factory: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    server = await kube_api_factory(tls=True)
    config = server.kubeconfig_dict()
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(server.ca.cert_pem)
    config["clusters"][0]["cluster"].pop("certificate-authority-data")
    config["clusters"][0]["cluster"]["certificate-authority"] = "ca.crt"  # relative to the kubeconfig
    config["contexts"].append({"name": "other", "context": {"cluster": "elsewhere", "user": "someone"}})
    config["clusters"].append({"name": "elsewhere", "cluster": {"server": "https://10.0.0.1"}})
    config["users"].append({"name": "someone", "user": {"token": "not-to-be-sent"}})
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))

    code = await asyncio.to_thread(
        main,
        [
            "clusters",
            "add",
            "--kubeconfig",
            str(path),
            "--url",
            live_server,
            "--token",
            token,
            "--name",
            "lab",
        ],
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "registered lab" in out
    assert "reachable" in out
    clusters = (await gql.ok("query { clusters { name status { reachable } } }", token=token))["clusters"]
    assert clusters == [{"name": "lab", "status": {"reachable": True}}]


async def test_refuses_without_credentials_and_reports_api_errors(
    kube_api: Any, gql: GraphQLClient, live_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = kube_api.kubeconfig(tmp_path / "config")
    assert (
        await asyncio.to_thread(main, ["clusters", "add", "--kubeconfig", str(path), "--url", live_server])
        == 3  # not signed in: no token, no e-mail, no session kept by `trellis login`
    )
    code = await asyncio.to_thread(
        main, ["clusters", "add", "--kubeconfig", str(path), "--url", live_server, "--token", "forged"]
    )
    assert code == 1
    assert "UNAUTHENTICATED" in capsys.readouterr().err
