"""Latency of saveWorkflow and workflow reads over real HTTP against a real Uvicorn (SQLite store)."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.settings import Settings
from tests.live import serving

SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"""
GET = "query($id: ID!) { workflow(id: $id) { revision nodes { id data } } }"


def canvas(groups: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes, edges = [], []
    for i in range(groups):
        nodes += [
            {
                "id": f"d{i}",
                "kind": "Deployment",
                "position": {"x": 0, "y": i},
                "data": {"name": f"web-{i}", "image": "nginx:1.27", "port": 8080},
            },
            {
                "id": f"s{i}",
                "kind": "Service",
                "position": {"x": 1, "y": i},
                "data": {"name": f"web-{i}", "port": 80},
            },
        ]
        edges.append({"id": f"e{i}", "source": f"s{i}", "target": f"d{i}"})
    return nodes, edges


async def run(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:

        async def call(query: str, variables: dict[str, Any], token: str | None = None) -> Any:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = await http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            body = response.json()
            assert not body.get("errors"), body["errors"]
            return body["data"]

        reg = await call(
            "mutation($i: RegisterInput!) { register(input: $i) { token } }",
            {"i": {"email": "bench@example.com", "password": "benchmark passphrase", "name": "Bench"}},
        )
        token = reg["register"]["token"]
        created = await call(
            'mutation { createWorkflow(input: {name: "bench"}) { workflow { id } } }', {}, token
        )
        wf = created["createWorkflow"]["workflow"]["id"]
        for groups in (10, 50, 200):
            nodes, edges = canvas(groups)
            revision = (await call(GET, {"id": wf}, token))["workflow"]["revision"]
            saves, reads = [], []
            for _ in range(20):
                start = time.perf_counter()
                data = await call(
                    SAVE,
                    {"input": {"id": wf, "nodes": nodes, "edges": edges, "expectedRevision": revision}},
                    token,
                )
                saves.append((time.perf_counter() - start) * 1000)
                revision = data["saveWorkflow"]["workflow"]["revision"]
                start = time.perf_counter()
                await call(GET, {"id": wf}, token)
                reads.append((time.perf_counter() - start) * 1000)
            print(
                f"  {len(nodes):4d} nodes: saveWorkflow p50 {statistics.median(saves):6.1f} ms "
                f"p95 {statistics.quantiles(saves, n=20)[18]:6.1f} ms | workflow read p50 "
                f"{statistics.median(reads):6.1f} ms"
            )


def main() -> None:
    print("saveWorkflow and workflow(id) over HTTP, 20 rounds each (SQLite, one client)")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), bcrypt_rounds=4)
        with serving(settings) as url:
            asyncio.run(run(url))


if __name__ == "__main__":
    main()
