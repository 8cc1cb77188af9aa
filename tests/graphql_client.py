"""A small GraphQL-over-HTTP client for tests (real HTTP through httpx)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class GraphQLError(AssertionError):
    errors: list[dict[str, Any]]

    def __str__(self) -> str:
        return f"GraphQL errors: {self.errors}"


class GraphQLClient:
    def __init__(self, base_url: str, http: httpx.AsyncClient) -> None:
        self.url = f"{base_url}/graphql"
        self.http = http

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            self.url, json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, (response.status_code, response.text)
        body: dict[str, Any] = response.json()
        return body

    async def ok(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> Any:
        """The ``data`` of a successful operation; raises with the errors otherwise."""
        body = await self.raw(query, variables, token=token)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        return body["data"]

    async def error(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The first error of an operation that must fail."""
        body = await self.raw(query, variables, token=token)
        assert body.get("errors"), f"expected an error, got {body}"
        first: dict[str, Any] = body["errors"][0]
        return first

    async def register(
        self, email: str, password: str = "correct horse battery", name: str = ""
    ) -> dict[str, Any]:
        data = await self.ok(
            """mutation($input: RegisterInput!) { register(input: $input) { token expiresAt user { id email role } } }""",
            {"input": {"email": email, "password": password, "name": name or email.split("@")[0]}},
        )
        result: dict[str, Any] = data["register"]
        return result
