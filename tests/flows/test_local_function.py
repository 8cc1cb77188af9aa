"""The local Function executor (TRELLIS_FLOW_EXECUTOR=local) with the real interpreters: a third step of a
flow called with its mapped input, its log (stdout and stderr in order, after the NOT-isolated warning),
each runtime's output, failures mapped to kinds and stages, the timeout and a cancellation killing the whole
process group (a child that sleeps dies too) and removing the step's directory, a source read from a
workspace file in a real SQLite store, and the refusals before anything runs."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.domain.files import WorkspaceFile
from app.domain.flows.scheduler import FlowStep
from app.domain.flows.steps import ERROR, OOM, REFUSED, TIMEOUT, StepInvocation, StepResult
from app.domain.workspaces import Scope
from app.flows.local_function import NOT_ISOLATED, LocalFunctionExecutor
from app.ports import Store
from app.store.opening import open_store
from tests.store.builders import Make

NO_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed on this machine")


@dataclass
class Log:
    """The step's log as the executor wrote it; ``seen`` is set once a line starts with ``wait_for``."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    wait_for: str = "\0"
    seen: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, message: str, level: str = "INFO") -> None:
        self.lines.append((level, message))
        if message.startswith(self.wait_for):
            self.seen.set()

    @property
    def messages(self) -> list[str]:
        return [message for _, message in self.lines]

    def value(self, prefix: str) -> str:
        return next(m.removeprefix(prefix) for m in self.messages if m.startswith(prefix))


@dataclass
class Tenant:
    store: Store
    workspace_id: str
    make: Make


@pytest.fixture
async def tenant(tmp_path: Path) -> AsyncIterator[Tenant]:
    store = await open_store(f"sqlite:///{tmp_path / 'trellis.db'}")
    try:
        make = Make()
        _, workspace, _ = await make.tenant(store)
        yield Tenant(store, workspace.id, make)
    finally:
        await store.close()


def executor(tenant: Tenant, **options: Any) -> LocalFunctionExecutor:
    options.setdefault("max_output_bytes", 10_000)
    options.setdefault("term_grace_seconds", 0.2)
    return LocalFunctionExecutor(tenant.store, **options)


def invocation(
    tenant: Tenant,
    log: Log,
    given: Any = None,
    *,
    scope: dict[str, Any] | None = None,
    timeout: float = 10,
    **data: Any,
) -> StepInvocation:
    data.setdefault("runtime", "python")
    return StepInvocation(
        run_id="run-1",
        workspace_id=tenant.workspace_id,
        step=FlowStep("summarise", "Function", data),
        attempt=1,
        input=given,
        scope=scope or {"steps": {}, "input": given},
        timeout_seconds=timeout,
        log=log,
    )


THIRD_STEP = """\
import sys

def main(event):
    print("one")
    print("two", file=sys.stderr)
    print("three")
    return {"total": sum(event["totals"]) * event["rate"], "who": event["who"]}
"""


async def test_a_third_step_gets_its_mapped_input_and_logs_in_order(tenant: Tenant) -> None:
    scope = {
        "steps": {
            "start": {"output": {"customer": "acme"}},
            "fetch": {"output": {"invoices": [{"total": 30}, {"total": 12}]}},
        },
        "input": {"customer": "acme", "rate": 2},
    }
    mapping = {
        "totals": "steps.fetch.output.invoices[*].total",
        "rate": "input.rate",
        "who": "input.customer",
    }
    log = Log()
    step = invocation(tenant, log, scope["input"], scope=scope, code=THIRD_STEP, inputMapping=mapping)
    result = await executor(tenant).execute(step)
    assert result == StepResult(output={"total": 84, "who": "acme"})
    assert log.lines == [("WARNING", NOT_ISOLATED), ("INFO", "one"), ("INFO", "two"), ("INFO", "three")]


@pytest.mark.parametrize(
    ("runtime", "code"),
    [
        ("python", "async def main(x):\n    return {'doubled': x * 2}\n"),
        pytest.param("node", "exports.main = async (x) => ({ doubled: x * 2 });\n", marks=NO_NODE),
        ("bash", 'read -r x\necho "working on $x" >&2\necho "{\\"doubled\\": $((x * 2))}"\n'),
    ],
)
async def test_each_runtime_returns_its_output(tenant: Tenant, runtime: str, code: str) -> None:
    log = Log()
    result = await executor(tenant).execute(invocation(tenant, log, 21, runtime=runtime, code=code))
    assert result == StepResult(output={"doubled": 42})
    if runtime == "bash":
        assert log.messages[1:] == ["working on 21"]


@pytest.mark.parametrize(
    ("code", "kind", "stage", "message"),
    [
        ("def main(x):\n    raise ValueError('no invoices')\n", ERROR, "code", "ValueError: no invoices"),
        ("def main(x):\n    raise MemoryError('too big')\n", OOM, "code", "MemoryError: too big"),
        ("def main(x):\n    return 'x' * 20\n", ERROR, "output", "OutputTooLarge: the output is 22 bytes"),
        (
            "import os\n\ndef main(x):\n    os._exit(3)\n",
            ERROR,
            "output",
            "the step ended without reporting a result (exit code 3)",
        ),
    ],
)
async def test_failures_are_mapped_to_kinds_and_stages(
    tenant: Tenant, code: str, kind: str, stage: str, message: str
) -> None:
    log = Log()
    result = await executor(tenant, max_output_bytes=21).execute(invocation(tenant, log, code=code))
    assert (result.error_kind, result.stage) == (kind, stage)
    assert (result.message or "").startswith(message)
    if kind != ERROR or stage == "code":
        assert any("Traceback (most recent call last)" in line for line in log.messages)


SPAWNS = """\
import os, subprocess, time

def main(x):
    child = subprocess.Popen(["sleep", "30"])
    print(f"dir {os.getcwd()}")
    print(f"child {child.pid}")
    time.sleep(30)
"""


def dead(pid: int) -> bool:
    """Gone, or a zombie nobody reaps yet (it no longer runs)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def removed(folder: str) -> bool:
    return not Path(folder).exists()


async def all_dead(pid: int) -> bool:
    for _ in range(50):  # SIGKILL is delivered at once; the exit itself may take a moment
        if dead(pid):
            return True
        await asyncio.sleep(0.01)
    return False


async def test_the_timeout_kills_the_whole_process_group(tenant: Tenant) -> None:
    log = Log()
    result = await executor(tenant).execute(invocation(tenant, log, code=SPAWNS, timeout=0.6))
    assert result == StepResult.failed(TIMEOUT, "run", "the attempt took longer than 0.6 s")
    child = int(log.value("child "))
    assert await all_dead(child)
    assert removed(log.value("dir "))


async def test_a_cancelled_call_kills_the_process_group_and_is_re_raised(tenant: Tenant) -> None:
    log = Log(wait_for="child ")
    task = asyncio.create_task(executor(tenant).execute(invocation(tenant, log, code=SPAWNS)))
    await asyncio.wait_for(log.seen.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await all_dead(int(log.value("child ")))
    assert removed(log.value("dir "))


def workspace_file(tenant: Tenant, content: str) -> WorkspaceFile:
    at = tenant.make.at()
    return WorkspaceFile(
        id=tenant.make.id("file"),
        workspace_id=tenant.workspace_id,
        path="lib/summary.py",
        content=content,
        content_type="text/x-python",
        size=len(content.encode()),
        sha256="0" * 64,
        revision=1,
        created_by="user-a",
        created_at=at,
        updated_by="user-a",
        updated_at=at,
    )


async def test_the_source_is_read_from_a_workspace_file(tenant: Tenant) -> None:
    stored = await tenant.store.put_file(
        workspace_file(tenant, "def main(x):\n    return ['from a file', x]\n")
    )
    run = executor(tenant)
    result = await run.execute(invocation(tenant, Log(), 5, fileId=stored.id))
    assert result == StepResult(output=["from a file", 5])
    await tenant.store.delete_file(Scope.of([tenant.workspace_id]), stored.id)
    log = Log()
    gone = await run.execute(invocation(tenant, log, 5, fileId=stored.id))
    assert (gone.error_kind, gone.stage) == (REFUSED, "start")
    assert f"source file {stored.id!r} is no longer in the workspace" in (gone.message or "")
    assert log.lines == []  # nothing ran


@pytest.mark.parametrize(
    ("given", "data", "message"),
    [
        (None, {}, "the step has no source"),
        (None, {"code": "  \n"}, "the step has no source"),
        (None, {"runtime": "ruby", "code": "x"}, "unknown runtime 'ruby'; it is one of python, node, bash"),
        (float("nan"), {"code": "def main(x): return x"}, "the step's input is not JSON"),
        (
            {"n": 1},
            {"code": "def main(x): return x", "inputMapping": {"n": "length(input.n)"}},
            "inputMapping.n ('length(input.n)') did not evaluate",
        ),
    ],
)
async def test_what_cannot_run_is_refused_at_start(
    tenant: Tenant, given: Any, data: dict[str, Any], message: str
) -> None:
    log = Log()
    result = await executor(tenant).execute(invocation(tenant, log, given, **data))
    assert (result.error_kind, result.stage) == (REFUSED, "start")
    assert (result.message or "").startswith(message)
    assert log.lines == []


async def test_a_missing_interpreter_is_refused_at_start(tenant: Tenant) -> None:
    run = executor(tenant, interpreters={"python": "no-such-python3"})
    result = await run.execute(invocation(tenant, Log(), code="def main(x): return x"))
    assert result == StepResult.failed(
        REFUSED, "start", "the python runtime needs 'no-such-python3', which is not installed on this server"
    )
