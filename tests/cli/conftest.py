"""Running `trellis` in-process as a user would: ``app.cli.main(argv)`` in a worker thread (the live
server and the Kubernetes API test server keep serving on the test's loop), with a private config
folder and neither TRELLIS_TOKEN nor TRELLIS_URL from the outer environment."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.cli import main


@dataclass(frozen=True)
class Result:
    """What one command did: its exit code, standard output and standard error."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


Trellis = Callable[..., Awaitable[Result]]


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config-home"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("TRELLIS_TOKEN", raising=False)
    monkeypatch.delenv("TRELLIS_URL", raising=False)
    return home


@pytest.fixture
def trellis(capsys: pytest.CaptureFixture[str]) -> Trellis:
    async def run(*argv: str) -> Result:
        capsys.readouterr()
        code = await asyncio.to_thread(main, list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
