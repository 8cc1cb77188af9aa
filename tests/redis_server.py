"""A real ``redis-server`` for tests: loopback only, a free port, a temporary directory, no persistence.

``redis_server`` (fixture) yields a running ``RedisServer``; ``stop()`` / ``start()`` / ``restart()`` keep
its port, so reconnection can be tested; ``freeze()`` / ``thaw()`` (SIGSTOP / SIGCONT) make it a server
that holds its connections open and answers nothing. Without a ``redis-server`` binary the fixture skips,
saying why — except under CI (``CI`` set), where it fails: CI must run these tests.

Import the fixture into a conftest (``from tests.redis_server import redis_server``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

STARTUP_SECONDS = 10.0


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self, binary: str, directory: Path) -> None:
        self._binary = binary
        self._directory = directory
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.running:
            raise RuntimeError("redis-server is already running")
        self._starts += 1
        log_path = self._directory / f"redis-{self._starts}.log"
        command = [
            self._binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self._directory),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", str(log_path),
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers_ping(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = log_path.read_text(errors="replace") if log_path.exists() else "(no log)"
                raise RuntimeError(f"redis-server did not start on port {self.port}:\n{log[-2000:]}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Terminate the server (its clients see their connections closed); the port stays ours."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP: connections stay open, nothing is answered (like a half-open connection)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)


def require_redis_server() -> str:
    """The ``redis-server`` path; skip (or, under CI, fail) when there is none."""
    binary = redis_server_binary()
    if binary is None:
        message = "redis-server is not installed (apt-get install -y redis-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the Redis tests")
        pytest.skip(f"{message}; CI fails here instead of skipping")
    return binary


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(require_redis_server(), tmp_path_factory.mktemp("redis"))
    for attempt in range(3):  # the free port may be taken before the server binds it
        try:
            server.start()
            break
        except RuntimeError:
            if attempt == 2:
                raise
            server.port = free_port()
    try:
        yield server
    finally:
        server.stop()
