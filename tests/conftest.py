"""Shared fixtures: settings for a throw-away server, a live Uvicorn, a GraphQL client, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.live import serving

pytest_plugins = ["tests.kubeapi.pytest_plugin", "tests.redis_server", "tests.registry_server"]

TEST_JWT_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
TEST_FERNET_KEY = "cbm3Zp9Dm4ZqAqgFwgcSgEiNxS8o4yUqY0xEXSy8iTQ="


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Development settings on a fresh SQLite file; bcrypt at its minimum cost to keep tests quick
    (``tests/auth`` checks the production cost of 12 separately)."""
    return Settings(
        data_dir=tmp_path / "data",
        jwt_secret=TEST_JWT_SECRET,  # type: ignore[arg-type]
        encryption_keys=TEST_FERNET_KEY,  # type: ignore[arg-type]
        bcrypt_rounds=4,
        max_body_bytes=256 * 1024,
        subscription_recheck_seconds=0.3,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def live_server(settings: Settings, clock: FakeClock) -> Iterator[str]:
    """The base URL of a real Uvicorn serving the whole app (fresh store, fake clock)."""
    with serving(settings, clock=clock) as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


@pytest.fixture
def gql(live_server: str, http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(live_server, http)


def pytest_report_header() -> str:
    import os

    if os.environ.get("TRELLIS_TEST_MONGODB_URL"):
        return "MongoDB contract run: on (TRELLIS_TEST_MONGODB_URL is set)"
    return (
        "MongoDB contract run: skipped (TRELLIS_TEST_MONGODB_URL is not set; no MongoDB server can run here)"
    )
