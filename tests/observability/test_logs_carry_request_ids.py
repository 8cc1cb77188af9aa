"""Log records made while a request is served carry its id (text and JSON lines), over a live server."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.observability import context
from app.observability.logs import log_handler
from tests.graphql_client import GraphQLClient

RESET = """mutation($e: String!) { requestPasswordReset(input: {email: $e}) { accepted } }"""


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What reaches a JSON handler on the root logger (``app`` loggers at INFO) while the test runs."""
    stream = io.StringIO()
    handler = log_handler(json_lines=True, stream=stream)
    root, app_logger = logging.getLogger(), logging.getLogger("app")
    level = app_logger.level
    root.addHandler(handler)
    app_logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        app_logger.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_json_log_lines_carry_the_id_of_the_request_that_caused_them(
    gql: GraphQLClient, http: httpx.AsyncClient, json_lines: io.StringIO
) -> None:
    await gql.register("ada@example.com")
    for request_id in ("firstRequest1", "secondRequest2"):
        response = await http.post(
            gql.url,
            json={"query": RESET, "variables": {"e": "ada@example.com"}},
            headers={"X-Request-ID": request_id},
        )
        assert response.json() == {"data": {"requestPasswordReset": {"accepted": True}}}
        assert response.headers["x-request-id"] == request_id
    response = await http.post(gql.url, json={"query": RESET, "variables": {"e": "ada@example.com"}})
    generated = response.headers["x-request-id"]
    logging.getLogger("app.tests").warning("outside any request")

    lines = _lines(json_lines)
    resets = [line for line in lines if "password reset was requested" in line["message"]]
    assert [line["request_id"] for line in resets] == ["firstRequest1", "secondRequest2", generated]
    assert {(line["level"], line["logger"]) for line in resets} == {("INFO", "app.services.passwords")}
    assert all(line["time"].endswith("+00:00") for line in lines)
    outside = next(line for line in lines if line["message"] == "outside any request")
    assert "request_id" not in outside


def test_text_lines_show_the_request_id_and_json_lines_keep_extras_and_exceptions() -> None:
    text, structured = io.StringIO(), io.StringIO()
    logger = logging.getLogger("app.tests.formats")
    handlers = [log_handler(json_lines=False, stream=text), log_handler(json_lines=True, stream=structured)]
    for handler in handlers:
        logger.addHandler(handler)
    token = context.request_id.set("abc123")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logger.error("it failed", exc_info=True, extra={"workflow_id": "wf1"})
    finally:
        context.request_id.reset(token)
        for handler in handlers:
            logger.removeHandler(handler)
    assert "ERROR app.tests.formats [abc123]: it failed" in text.getvalue()
    line = json.loads(structured.getvalue().splitlines()[0])
    assert line["request_id"] == "abc123"
    assert line["workflow_id"] == "wf1"
    assert line["exception"].startswith("Traceback") and "ValueError: boom" in line["exception"]
