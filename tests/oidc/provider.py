"""Start the real OpenID provider (``provider.mjs``: the npm ``oidc-provider``) on a free loopback port."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.live import free_port

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "provider.mjs"
START_SECONDS = 20


@contextmanager
def running_provider(
    clients: list[Mapping[str, Any]], accounts: Mapping[str, Mapping[str, Any]], log_path: Path
) -> Iterator[str]:
    """Yield the issuer URL (``http://127.0.0.1:PORT``) while the provider runs; stop it afterwards."""
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the test OpenID provider is not installed: run scripts/bootstrap --test")
    port = free_port()
    config = {"port": port, "clients": list(clients), "accounts": dict(accounts)}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [node, str(SCRIPT)],
            cwd=HERE,
            env={**os.environ, "OIDC_CONFIG": json.dumps(config)},
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            issuer = _wait_ready(process, log_path)
            yield issuer
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _wait_ready(process: subprocess.Popen[str], log_path: Path) -> str:
    """The issuer the provider printed in its ``ready`` line (a thread reads, so a hang times out)."""
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("ready "):
                found.append(line.split()[1])
                return

    reader = threading.Thread(target=read, name="oidc-provider-ready", daemon=True)
    reader.start()
    reader.join(timeout=START_SECONDS)
    if not found:
        process.kill()
        raise RuntimeError(f"oidc-provider did not start: {log_path.read_text()[-2000:]}")
    return found[0]
