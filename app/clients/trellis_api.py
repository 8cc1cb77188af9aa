"""A small synchronous GraphQL client for the `trellis` command (the CLI talks to the API like any client)."""

from __future__ import annotations

from typing import Any

import httpx


class ApiError(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        first = errors[0]
        code = (first.get("extensions") or {}).get("code", "ERROR")
        fields = (first.get("extensions") or {}).get("fields") or []
        detail = "; ".join(f"{f['path']}: {f['message']}" for f in fields)
        super().__init__(f"{code}: {first.get('message')}" + (f" ({detail})" if detail else ""))


class TrellisApi:
    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 60) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self.token = token

    def __enter__(self) -> TrellisApi:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def call(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = self._http.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )
        except httpx.HTTPError as exc:
            raise ApiError([{"message": f"cannot reach Trellis at {self._http.base_url}: {exc}"}]) from exc
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise ApiError(body["errors"])
        data: dict[str, Any] = body["data"]
        return data

    def login(self, email: str, password: str) -> None:
        data = self.call(
            "mutation($i: LoginInput!) { login(input: $i) { token } }",
            {"i": {"email": email, "password": password}},
        )
        self.token = data["login"]["token"]
