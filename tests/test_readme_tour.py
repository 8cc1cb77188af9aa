"""The README's five-minute tour works as written: every fenced ``graphql`` block is run in order against a
live server and the Kubernetes API test server, with the ``json`` block that follows it as its variables and
the ``<…>`` placeholders replaced by what the earlier steps returned (the token as the reader would put it
into GraphiQL's headers). Subscriptions run over a real WebSocket."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.api.ws_client import subscribed
from tests.graphql_client import GraphQLClient

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass
class Step:
    document: str
    variables: str = "{}"

    @property
    def kind(self) -> str:
        return self.document.split(None, 1)[0]


@dataclass
class Reader:
    """What a reader of the tour has at hand: the token and the ids earlier steps returned."""

    kubeconfig: str
    token: str | None = None
    ids: dict[str, str] = field(default_factory=dict)

    def variables(self, text: str) -> dict[str, Any]:
        values = {"<kubeconfig YAML>": self.kubeconfig, **{f"<{k} id>": v for k, v in self.ids.items()}}

        def fill(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            if isinstance(value, list):
                return [fill(v) for v in value]
            if isinstance(value, str) and value.startswith("<"):
                assert value in values, f"the tour uses {value} before a step returned it"
                return values[value]
            return value

        filled: dict[str, Any] = fill(json.loads(text))
        return filled

    def learn(self, data: Any) -> None:
        """Keep the token and every ``id`` under ``workflow``, ``cluster`` or ``run`` objects."""
        if isinstance(data, dict):
            for key, value in data.items():
                if key == "token" and isinstance(value, str):
                    self.token = value
                elif key in ("workflow", "cluster", "run") and isinstance(value, dict) and "id" in value:
                    self.ids[key] = value["id"]
                self.learn(value)
        elif isinstance(data, list):
            for item in data:
                self.learn(item)


def tour_steps() -> list[Step]:
    text = README.read_text()
    section = text.split("## Five-minute tour", 1)[1].split("\n## ", 1)[0]
    steps: list[Step] = []
    for language, body in FENCE.findall(section):
        if language == "graphql":
            steps.append(Step(body))
        elif language == "json":
            assert steps and steps[-1].variables == "{}", "a json block follows its graphql block"
            steps[-1].variables = body
    return steps


def test_the_tour_has_every_step() -> None:
    documents = " ".join(step.document for step in tour_steps())
    for operation in (
        "register(",
        "importCompose(",
        "previewManifests(",
        "registerCluster(",
        "runWorkflow(",
        "runStatus(",
        "workflowStatus(",
    ):
        assert operation in documents, operation


async def _subscribe(url: str, reader: Reader, step: Step) -> list[dict[str, Any]]:
    """Events until ``COMPLETE``; a stream that stays open (``workflowStatus``) ends the test at once
    after ``METADATA``."""
    events: list[dict[str, Any]] = []
    async with subscribed(url, reader.token) as subscription:
        await subscription.start(step.document, reader.variables(step.variables))
        while True:
            payload = await asyncio.wait_for(subscription.next(), timeout=30)
            assert not payload.get("errors"), payload
            event = next(iter(payload["data"].values()))
            events.append(event)
            if event["type"] == "COMPLETE" or "workflowStatus" in step.document:
                return events


async def test_the_five_minute_tour_runs_as_written(
    kube_api: Any, gql: GraphQLClient, live_server: str
) -> None:
    reader = Reader(kubeconfig=yaml.safe_dump(kube_api.kubeconfig_dict()))
    results: dict[str, Any] = {}
    for step in tour_steps():
        name = step.document.split(None, 2)[1].split("(", 1)[0]
        if step.kind == "subscription":
            results[name] = await _subscribe(live_server, reader, step)
            continue
        results[name] = await gql.ok(step.document, reader.variables(step.variables), token=reader.token)
        reader.learn(results[name])

    assert results["Register"]["register"]["user"]["role"] == "ADMIN"
    assert {n["kind"] for n in results["ImportCompose"]["importCompose"]["workflow"]["nodes"]} >= {
        "Deployment",
        "Service",
    }
    assert "kind: Deployment" in results["Preview"]["previewManifests"]["yaml"]
    assert results["RegisterCluster"]["registerCluster"]["cluster"]["status"]["reachable"] is True
    run = results["Run"]
    assert run[0]["type"] == "METADATA"
    assert run[-1]["type"] == "COMPLETE"
    assert run[-1]["run"]["status"] == "COMPLETED", run
    assert [event["type"] for event in results["Health"]] == ["METADATA"]
