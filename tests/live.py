"""A real Uvicorn serving the whole app on a free loopback port, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from app.main import create_app
from app.ports import Clock
from app.services.container import Deliveries
from app.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(
    settings: Settings, *, clock: Clock | None = None, deliveries: Deliveries | None = None
) -> Iterator[str]:
    """Yield the base URL (``http://127.0.0.1:PORT``) while the server runs; stop it afterwards."""
    port = free_port()
    app = create_app(
        settings.model_copy(update={"host": "127.0.0.1", "port": port}), clock=clock, deliveries=deliveries
    )
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws="websockets-sansio",
        proxy_headers=False,  # as `trellis serve`: only TRELLIS_TRUSTED_PROXIES makes X-Forwarded-For count
    )
    server = uvicorn.Server(config)
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
