"""GraphiQL boots in a real headless Chromium from our own assets, with no other host reachable.

Chromium resolves every host name except 127.0.0.1 to "not found" (--host-resolver-rules), so a page that
still needed a CDN would fail here. The test drives Chromium over the DevTools protocol (a WebSocket), records
every request the page makes, and checks the UI rendered, the schema was introspected, a query ran with the
Authorization header typed into the Headers tab, and a subscription streamed over ws:// to the same path.

Server: the `live_server` fixture from tests/conftest.py when there is one (the whole app under Uvicorn);
otherwise a small Starlette app defined here with the same shape (the page at GET /graphql, the assets at
/graphiql-assets/, a tiny Strawberry schema behind it). The subscription test always uses the local app,
whose schema it knows.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from websockets.sync.client import ClientConnection, connect

from app.http.graphiql import graphiql_assets_app, graphiql_page
from tests.browser.chromium import CHROMIUM_FLAGS, chromium

pytestmark = pytest.mark.browser

GRAPHQL_PATH = "/graphql"
ASSETS_PATH = "/graphiql-assets"
TOKEN = "Bearer trellis-browser-test"
CDP_FLAGS = (*CHROMIUM_FLAGS, "--remote-debugging-port=0", "--window-size=1280,900")


# --- the local stand-in for the app ----------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def count(self, to: int = 3) -> AsyncGenerator[int, None]:
        for number in range(1, to + 1):
            yield number


@dataclass
class Seen:
    kind: str  # "http" or "websocket"
    method: str  # "WS" for WebSocket handshakes
    path: str
    headers: dict[str, str]
    body: bytearray = field(default_factory=bytearray)


@dataclass
class Served:
    """What the local server saw: every request (with its body) and every WebSocket connect payload."""

    requests: list[Seen] = field(default_factory=list)
    connection_params: list[object] = field(default_factory=list)

    def paths(self, kind: str = "http", method: str = "GET") -> list[str]:
        return [seen.path for seen in self.requests if seen.kind == kind and seen.method == method]

    def posts(self, marker: bytes) -> list[Seen]:
        return [seen for seen in self.requests if seen.method == "POST" and marker in seen.body]


class _TestGraphQL(GraphQL[Any, None]):
    def __init__(self, served: Served) -> None:
        super().__init__(strawberry.Schema(query=Query, subscription=Subscription))
        self.served = served

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql_page(graphql_path=GRAPHQL_PATH, assets_path=ASSETS_PATH))

    async def on_ws_connect(self, context: Any) -> None:
        self.served.connection_params.append(context.get("connection_params"))


def _recording(app: ASGIApp, served: Served) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        seen = Seen(scope["type"], scope.get("method", "WS"), scope["path"], headers)
        served.requests.append(seen)

        async def recording_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen.body += message.get("body", b"")
            return message

        await app(scope, recording_receive, send)

    return middleware


@dataclass
class LocalServer:
    base_url: str
    served: Served


@pytest.fixture(scope="module")
def local_server() -> Iterator[LocalServer]:
    served = Served()
    view = _TestGraphQL(served)
    app = Starlette(
        routes=[
            Route(GRAPHQL_PATH, view, methods=["GET", "POST"]),
            WebSocketRoute(GRAPHQL_PATH, view),
            Mount(ASSETS_PATH, app=graphiql_assets_app()),
        ]
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        _recording(app, served), lifespan="off", log_level="warning", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="graphiql-test-uvicorn")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("local Uvicorn did not start")
        time.sleep(0.01)
    try:
        yield LocalServer(f"http://127.0.0.1:{port}", served)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def app_base_url(request: pytest.FixtureRequest) -> str:
    """The base URL of `live_server` (the whole app) if tests/conftest.py has one, else the local stand-in."""
    try:
        return str(request.getfixturevalue("live_server"))
    except pytest.FixtureLookupError:
        return request.getfixturevalue("local_server").base_url  # type: ignore[no-any-return]


# --- a small DevTools-protocol client ----------------------------------------------------------------------


class DevTools:
    """One WebSocket to Chromium's DevTools endpoint; flat sessions; keeps every event per session."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: dict[str | None, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        request: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if session is not None:
            request["sessionId"] = session
        self.ws.send(json.dumps(request))
        deadline = time.monotonic() + 10
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            if "method" in message:
                self.events.setdefault(message.get("sessionId"), []).append(message)


class Page:
    """One tab: evaluate JavaScript, wait for conditions, read what the tab requested and logged."""

    def __init__(self, devtools: DevTools, session: str) -> None:
        self.devtools = devtools
        self.session = session

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self.devtools.call(method, self.session, **params)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 10) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; console errors: {self.console_errors()}")

    def named(self, method: str) -> list[dict[str, Any]]:
        events = self.devtools.events.get(self.session, [])
        return [event["params"] for event in events if event["method"] == method]

    def requests(self) -> list[dict[str, Any]]:
        """Every request the tab sent, with its requestId."""
        return [p["request"] | {"requestId": p["requestId"]} for p in self.named("Network.requestWillBeSent")]

    def console_errors(self) -> list[str]:
        errors = [
            str(
                p["exceptionDetails"].get("exception", {}).get("description") or p["exceptionDetails"]["text"]
            )
            for p in self.named("Runtime.exceptionThrown")
        ]
        errors += [str(p["args"]) for p in self.named("Runtime.consoleAPICalled") if p["type"] == "error"]
        errors += [p["entry"]["text"] for p in self.named("Log.entryAdded") if p["entry"]["level"] == "error"]
        return errors


@pytest.fixture(scope="module")
def devtools() -> Iterator[DevTools]:
    binary = chromium()
    with tempfile.TemporaryDirectory(prefix="trellis-chromium-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [binary, *CDP_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopped as one below
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 15
            while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Chromium did not start (exit code {process.poll()})")
                time.sleep(0.05)
            port, path = port_file.read_text().splitlines()[:2]
            with connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=10) as ws:
                client = DevTools(ws)
                yield client
                with contextlib.suppress(Exception):
                    client.call("Browser.close")
        finally:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            with contextlib.suppress(ProcessLookupError):  # helpers left in the group we started
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def open_page(devtools: DevTools) -> Iterator[Callable[[str], Page]]:
    """Open a fresh tab (own session, events recorded from before navigation) at a URL."""
    targets: list[str] = []

    def open_(url: str) -> Page:
        target = devtools.call("Target.createTarget", url="about:blank")["targetId"]
        targets.append(target)
        page = Page(
            devtools, devtools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        )
        for domain in ("Network", "Runtime", "Log", "Page"):
            page.call(f"{domain}.enable")
        page.call("Page.navigate", url=url)
        return page

    yield open_
    for target in targets:
        devtools.call("Target.closeTarget", targetId=target)


# --- page helpers (GraphiQL 3.8 DOM: CodeMirror 5 editors keep their instance on the .CodeMirror node) ------

QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"  # the open Headers tab
RENDERED = f"!!document.querySelector('.graphiql-container {QUERY_EDITOR}')"
RESPONSE = "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
ASSET_FILES = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "graphiql.min.css",
    "plugin-explorer.umd.js",
    "plugin-explorer.css",
)


def _set_editor(page: Page, selector: str, value: str) -> None:
    page.evaluate(f"document.querySelector({json.dumps(selector)}).CodeMirror.setValue({json.dumps(value)})")


def _run_and_wait(page: Page, query: str, expected: str) -> Any:
    """Type `query`, press run, return the parsed response once the response pane contains `expected`."""
    _set_editor(page, QUERY_EDITOR, query)
    # GraphiQL parses edits after a short debounce, then the page mirrors the query into ?q=.
    page.wait_for(
        f"new URLSearchParams(location.search).get('q') === {json.dumps(query)}", "the query in ?q="
    )
    page.evaluate("document.querySelector('.graphiql-execute-button').click()")
    text = page.wait_for(
        f"{RESPONSE}.includes({json.dumps(expected)}) && {RESPONSE}", f"a response with {expected}"
    )
    return json.loads(text)


def _wait_for_schema(page: Page) -> None:
    """Open the docs and wait for the root types: the introspection query came back and was understood."""
    page.wait_for(
        "document.querySelector('.graphiql-doc-explorer')?.innerText.includes('query: Query')"
        " || (document.querySelector('button[aria-label=\"Show Documentation Explorer\"]')?.click(), false)",
        "the documentation explorer built from the introspected schema",
    )


def _posts(page: Page, marker: str) -> list[dict[str, Any]]:
    return [r for r in page.requests() if r["method"] == "POST" and marker in r.get("postData", "")]


# --- tests -------------------------------------------------------------------------------------------------


def test_graphiql_boots_from_local_assets_only(open_page: Callable[[str], Page], app_base_url: str) -> None:
    page = open_page(f"{app_base_url}{GRAPHQL_PATH}")
    page.wait_for(RENDERED, "the GraphiQL query editor")
    _wait_for_schema(page)
    assert _run_and_wait(page, "query Probe { __typename }", "__typename") == {
        "data": {"__typename": "Query"}
    }

    origin = urlsplit(app_base_url).netloc
    urls = [r["url"] for r in page.requests()]
    foreign = [u for u in urls if urlsplit(u).scheme != "data" and urlsplit(u).netloc != origin]
    assert foreign == [], "the page reached for another host"
    assert {f"{ASSETS_PATH}/{name}" for name in ASSET_FILES} <= {urlsplit(u).path for u in urls}
    statuses = {r["response"]["url"]: r["response"]["status"] for r in page.named("Network.responseReceived")}
    assert {u: s for u, s in statuses.items() if s >= 400} == {}
    failed = [(f.get("errorText"), f.get("blockedReason")) for f in page.named("Network.loadingFailed")]
    assert failed == []
    for marker in ("IntrospectionQuery", "Probe"):
        sent = _posts(page, marker)
        assert sent, f"GraphiQL sent no {marker} request"
        assert {urlsplit(r["url"]).path for r in sent} == {GRAPHQL_PATH}
    assert page.console_errors() == []

    # The page's Content-Security-Policy is in force: a request to any other origin is refused.
    violated = page.evaluate(
        "new Promise(resolve => {"
        " document.addEventListener('securitypolicyviolation', e => resolve(e.effectiveDirective));"
        " fetch('http://127.0.0.2:9/').catch(() => {}); setTimeout(() => resolve(null), 2000); })"
    )
    assert violated == "connect-src"


def test_headers_editor_feeds_http_and_websocket_requests(
    open_page: Callable[[str], Page], local_server: LocalServer
) -> None:
    served = local_server.served
    page = open_page(f"{local_server.base_url}{GRAPHQL_PATH}?q=query%20Shared%20%7B%20hello%20%7D")
    page.wait_for(RENDERED, "the GraphiQL query editor")
    assert "query Shared { hello }" in page.evaluate(
        f"document.querySelector({json.dumps(QUERY_EDITOR)}).CodeMirror.getValue()"
    ), "the ?q= parameter did not reach the query editor"
    page.wait_for(f"!!document.querySelector({json.dumps(HEADERS_EDITOR)})", "the open Headers tab")
    _set_editor(page, HEADERS_EDITOR, json.dumps({"Authorization": TOKEN}))
    _wait_for_schema(page)  # GraphiQL needs the schema to route a subscription to the WebSocket

    assert _run_and_wait(page, "query Hello { hello }", "world") == {"data": {"hello": "world"}}
    assert [seen.headers.get("authorization") for seen in served.posts(b"Hello")] == [TOKEN]

    result = _run_and_wait(page, "subscription Count { count(to: 3) }", '"count": 3')
    assert result == {"data": {"count": 3}}
    port = urlsplit(local_server.base_url).port
    assert [p["url"] for p in page.named("Network.webSocketCreated")] == [
        f"ws://127.0.0.1:{port}{GRAPHQL_PATH}"
    ]
    assert GRAPHQL_PATH in served.paths("websocket", "WS")
    assert served.connection_params[-1] == {"Authorization": TOKEN}

    # Server side, too: the page, its assets and the introspection query all came to this server.
    gets = served.paths("http", "GET")
    assert GRAPHQL_PATH in gets
    assert {f"{ASSETS_PATH}/{name}" for name in ASSET_FILES} <= set(gets)
    assert served.posts(b"IntrospectionQuery")
    assert page.console_errors() == []
