"""Trellis on a chosen loopback port: the OpenID provider registers the callback URL before Trellis starts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from app.main import create_app
from app.ports import Clock
from app.settings import Settings
from tests.live import free_port


@contextmanager
def serving_on(settings: Settings, port: int, *, clock: Clock | None = None) -> Iterator[str]:
    """Yield ``http://127.0.0.1:PORT`` while a real Uvicorn serves the whole app there."""
    app = create_app(settings.model_copy(update={"host": "127.0.0.1", "port": port}), clock=clock)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextmanager
def serving_app(app: Any) -> Iterator[str]:
    """Yield ``http://127.0.0.1:PORT`` while a real Uvicorn serves ``app`` (a stand-in) on a free port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name=f"stand-in-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the stand-in server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
