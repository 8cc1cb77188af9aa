"""A small synchronous GraphQL client for the `trellis` command (the CLI talks to the API like any client)."""

from __future__ import annotations

from typing import Any

import httpx

UNREACHABLE = "UNREACHABLE"
"""The code of an :class:`ApiError` raised when no answer came from the server (not a GraphQL code)."""


class ApiError(Exception):
    """The first error of a failed operation: ``code`` is its ``extensions.code`` (``UNREACHABLE`` when the
    server could not be reached), ``fields`` the ``{path, message}`` entries of a ``BAD_INPUT``."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        first = errors[0]
        extensions = first.get("extensions") or {}
        self.code: str = str(extensions.get("code", "ERROR"))
        self.fields: list[dict[str, str]] = list(extensions.get("fields") or [])
        self.message: str = str(first.get("message"))
        detail = "; ".join(f"{f['path']}: {f['message']}" for f in self.fields)
        super().__init__(f"{self.code}: {self.message}" + (f" ({detail})" if detail else ""))

    @classmethod
    def of(cls, code: str, message: str) -> ApiError:
        return cls([{"message": message, "extensions": {"code": code}}])


class TrellisApi:
    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 60) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
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
            raise ApiError.of(UNREACHABLE, f"cannot reach Trellis at {self.base_url}: {exc}") from exc
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise ApiError.of(
                UNREACHABLE, f"{self.base_url} answered HTTP {response.status_code}, not GraphQL"
            ) from exc
        if body.get("errors"):
            raise ApiError(body["errors"])
        data: dict[str, Any] = body["data"]
        return data

    def login(self, email: str, password: str) -> dict[str, Any]:
        """Sign in; keeps the session token and returns the ``AuthPayload`` (token, expiresAt, user)."""
        data = self.call(
            "mutation($i: LoginInput!) { login(input: $i) { token expiresAt user { email } } }",
            {"i": {"email": email, "password": password}},
        )
        payload: dict[str, Any] = data["login"]
        self.token = payload["token"]
        return payload
