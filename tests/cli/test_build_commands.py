"""`trellis builds logs` prints a build's log; with `--follow` it streams `buildLogs` while the build
runs (the Kubernetes API test server drives the build pod) and exits 1 when the build FAILED."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.settings import Settings
from tests.api.test_builds_over_http import Shop
from tests.builds.pods import BuildPod
from tests.cli.conftest import Trellis
from tests.graphql_client import GraphQLClient


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback allowed (the repository and registry addresses); builds read every 50 ms."""
    return settings.model_copy(
        update={"egress_allow_loopback": True, "build_poll_seconds": 0.05, "build_log_drain_seconds": 5.0}
    )


async def test_a_failing_build_is_followed_to_its_end_and_exits_1(
    kube_api: Any, gql: GraphQLClient, live_server: str, trellis: Trellis, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = await Shop(gql, kube_api).setup()
    monkeypatch.setenv("TRELLIS_TOKEN", shop.token)
    monkeypatch.setenv("TRELLIS_URL", live_server)
    started = await shop.start(ref="nope")
    pod = await BuildPod.of(kube_api, started["id"])

    following = asyncio.create_task(trellis("builds", "logs", started["id"], "--follow"))
    pod.log(
        "clone", "fetching nope of https://127.0.0.1/acme/shop.git", "fatal: couldn't find remote ref nope"
    )
    pod.clone_running()
    await shop.status(started["id"], "CLONING")
    pod.clone_failed(128)
    followed = await asyncio.wait_for(following, timeout=20)
    assert followed.code == 1, followed.err
    assert "[clone] fatal: couldn't find remote ref nope" in followed.out
    assert followed.out.splitlines()[0].startswith("[trellis] queued:")
    assert followed.err.strip().splitlines()[-1].startswith("build FAILED")

    stored = await trellis("builds", "logs", started["id"], "--output", "json")
    assert stored.code == 1
    build = stored.json()
    assert build["status"] == "FAILED" and build["errorStage"] == "CLONE"
    assert ("CLONE", "fatal: couldn't find remote ref nope") in [
        (x["source"], x["message"]) for x in build["logs"]
    ]

    events = await trellis("builds", "logs", started["id"], "--follow", "--output", "json")
    assert events.code == 1
    lines = events.json_lines()
    assert [e["type"] for e in lines[:-1]] == ["LINE"] * (len(lines) - 1)
    assert lines[-1]["type"] == "COMPLETE" and lines[-1]["status"] == "FAILED"

    missing = await trellis("builds", "logs", "no-such-build", "--follow")
    assert missing.code == 4
