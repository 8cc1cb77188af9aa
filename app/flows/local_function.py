"""Function steps as subprocesses of the Trellis server (``TRELLIS_FLOW_EXECUTOR=local``): for trying flows on
a laptop with no cluster. NOT isolated: the code runs as the server's user, with its access to the network
and the filesystem; every attempt logs so.

Each attempt gets a temporary directory (removed afterwards, whatever happens) holding ``input.json``, the
source and the runner; the runtime's interpreter runs the runner there in a new process group, with a
minimal environment (the runner contract's variables, ``PATH``, ``LANG``, ``HOME``/``TMPDIR`` = that
directory, and the workspace secrets the step lists in ``secrets``, as variables of their names). Its
stdout and stderr, merged in the order written, are the step's log (revealed secret values masked); the
envelope is read from a file in the directory. The step's timeout (also enforced here) and a cancelled call
kill the whole process group: SIGTERM, then SIGKILL after a short grace.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.domain.flows.steps import (
    ERROR,
    REFUSED,
    TIMEOUT,
    TIMEOUT_GRACE_SECONDS,
    StepInvocation,
    StepResult,
)
from app.flows import runtimes
from app.flows.function_code import PreparedFunction, prepare
from app.flows.step_secrets import listed_secrets, masked, masked_result, masking_logs, reveal
from app.ports import FileStore, StepTokenIssuer, WorkspaceSecretReader

NOT_ISOLATED = (
    "local executor: this step runs as a subprocess of the Trellis server, NOT isolated "
    "(TRELLIS_FLOW_EXECUTOR=local)"
)
RESULT_FILE = ".trellis-result.json"
ENVELOPE_ROOM = 1024  # bytes of an envelope beyond its output (``{"output":…}``, an error's message)
MAX_LOG_LINE = 8192  # a longer line is logged in pieces of this many bytes
READ_CHUNK = 65_536
DRAIN_SECONDS = 1.0  # how long the log is read after the process ended (a child may hold the pipe)


class LocalFunctionExecutor:
    """Runs Function steps as local subprocesses (see the module's docstring).

    ``interpreters`` maps a runtime's name to the command that runs its runner (default: the runtime's
    ``python3``, ``node``, ``bash``, found on ``PATH``); ``term_grace_seconds`` is how long a killed
    attempt gets between SIGTERM and SIGKILL; ``secrets`` reveals the workspace secrets a step lists.
    """

    def __init__(
        self,
        files: FileStore,
        *,
        max_output_bytes: int,
        interpreters: Mapping[str, str] | None = None,
        term_grace_seconds: float = 1.0,
        secrets: WorkspaceSecretReader | None = None,
        tokens: StepTokenIssuer | None = None,
        data_url: str = "",
    ) -> None:
        self._secrets = secrets
        self._tokens = tokens  # with ``data_url``: the step reaches its workspace's data collections
        self._data_url = data_url
        self._files = files
        self._max_output = max_output_bytes
        self._interpreters = dict(interpreters or {})
        self._grace = term_grace_seconds

    async def execute(self, invocation: StepInvocation) -> StepResult:
        prepared = await prepare(self._files, invocation)
        if isinstance(prepared, StepResult):
            return prepared
        runtime = prepared.runtime
        command = self._interpreters.get(runtime.name, runtime.interpreter)
        interpreter = shutil.which(command)
        if interpreter is None:
            return StepResult.failed(
                REFUSED,
                "start",
                f"the {runtime.name} runtime needs {command!r}, which is not installed on this server",
            )
        names = listed_secrets(invocation)
        clash = sorted(set(names) & set(self._environment(prepared, Path())))
        if clash:
            return StepResult.failed(
                REFUSED, "start", f"the secret {clash[0]} has the name of a variable the runner sets"
            )
        values = await reveal(self._secrets, invocation, names)
        if isinstance(values, StepResult):
            return values
        await invocation.log(NOT_ISOLATED, "WARNING")
        with (
            masking_logs(values.values()),
            tempfile.TemporaryDirectory(prefix="trellis-step-", ignore_cleanup_errors=True) as tmp,
        ):
            access = {**values, **self._data_access(invocation)}
            result = await self._attempt(masked(invocation, values), prepared, interpreter, Path(tmp), access)
        return masked_result(result, values)

    def _data_access(self, invocation: StepInvocation) -> dict[str, str]:
        """``TRELLIS_DATA_URL`` and the attempt's step token, when data collections are reachable."""
        if self._tokens is None or not self._data_url:
            return {}
        started = invocation.started_at or datetime.now(UTC)
        token = self._tokens.issue(
            workspace_id=invocation.workspace_id,
            run_id=invocation.run_id,
            node_id=invocation.step.id,
            attempt=invocation.attempt,
            expires_at=started
            + timedelta(seconds=(invocation.timeout_seconds or 300) + TIMEOUT_GRACE_SECONDS),
        )
        return {runtimes.DATA_URL_ENV: self._data_url, runtimes.STEP_TOKEN_ENV: token}

    def _environment(
        self, prepared: PreparedFunction, step_dir: Path, secrets: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        return {
            **(secrets or {}),
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": os.environ.get("LANG") or "C.UTF-8",
            "HOME": str(step_dir),
            "TMPDIR": str(step_dir),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            runtimes.STEP_DIR_ENV: str(step_dir),
            runtimes.ENTRYPOINT_ENV: prepared.entrypoint,
            runtimes.RESULT_PATH_ENV: str(step_dir / RESULT_FILE),
            runtimes.RESULT_INLINE_MAX_ENV: str(self._inline_max),
            runtimes.OUTPUT_MAX_ENV: str(self._max_output),
        }

    @property
    def _inline_max(self) -> int:
        return self._max_output + ENVELOPE_ROOM

    async def _attempt(
        self,
        invocation: StepInvocation,
        prepared: PreparedFunction,
        interpreter: str,
        step_dir: Path,
        secrets: Mapping[str, str],
    ) -> StepResult:
        for name, content in prepared.step_files().items():
            (step_dir / name).write_bytes(content)
        try:
            process = await asyncio.create_subprocess_exec(
                interpreter,
                str(step_dir / prepared.runtime.runner_file),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                cwd=step_dir,
                env=self._environment(prepared, step_dir, secrets),
                start_new_session=True,  # its own process group, killed whole
            )
        except OSError as exc:
            return StepResult.failed(REFUSED, "start", f"{interpreter} could not be started: {exc}")
        assert process.stdout is not None
        reader = asyncio.create_task(_stream_log(process.stdout, invocation), name="local-step-log")
        try:
            async with asyncio.timeout(invocation.timeout_seconds or None):
                await process.wait()
        except TimeoutError:
            await self._kill(process)
            await _drain(reader)
            return StepResult.failed(
                TIMEOUT, "run", f"the attempt took longer than {invocation.timeout_seconds:g} s"
            )
        except BaseException:  # cancelled (the run, the engine's timeout, the server stopping)
            await asyncio.shield(self._kill(process))
            reader.cancel()
            raise
        _kill_group(process.pid, signal.SIGKILL)  # whatever the code left running in the background
        await _drain(reader)
        return self._result(step_dir / RESULT_FILE, process.returncode)

    async def _kill(self, process: asyncio.subprocess.Process) -> None:
        """SIGTERM to the process group, SIGKILL to it after the grace (or at once if cancelled again)."""
        try:
            _kill_group(process.pid, signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), self._grace)
        finally:
            _kill_group(process.pid, signal.SIGKILL)
            await process.wait()

    def _result(self, path: Path, returncode: int | None) -> StepResult:
        try:
            with path.open("rb") as result:
                raw = result.read(self._inline_max + 1)
        except FileNotFoundError:
            raw = b""
        if len(raw) > self._inline_max:
            return StepResult.failed(
                ERROR, "output", f"the step's result is larger than {self._inline_max} bytes"
            )
        try:
            envelope = runtimes.read_envelope(raw.decode("utf-8", errors="replace"))
        except runtimes.EnvelopeError as exc:
            return StepResult.failed(ERROR, "output", f"{exc} ({_exit_text(returncode)})")
        if envelope.failed:
            return runtimes.failed_result(envelope)
        if envelope.posted is not None:
            return StepResult.failed(
                ERROR, "output", "the step posted its output, but nothing receives it here"
            )
        return StepResult(output=envelope.output)


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _exit_text(returncode: int | None) -> str:
    if returncode is None:
        return "the process did not end"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


async def _drain(reader: asyncio.Task[None]) -> None:
    """Let the log reader finish what is left in the pipe; stop it when a stray process holds it open."""
    done, _ = await asyncio.wait({reader}, timeout=DRAIN_SECONDS)
    if not done:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _stream_log(stream: asyncio.StreamReader, invocation: StepInvocation) -> None:
    """Each line the process writes, in order, to the step's log (long lines in pieces)."""
    pending = b""
    while True:
        chunk = await stream.read(READ_CHUNK)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            await _log_line(invocation, line)
        while len(pending) > MAX_LOG_LINE:
            await _log_line(invocation, pending[:MAX_LOG_LINE])
            pending = pending[MAX_LOG_LINE:]
    if pending:
        await _log_line(invocation, pending)


async def _log_line(invocation: StepInvocation, line: bytes) -> None:
    for start in range(0, max(len(line), 1), MAX_LOG_LINE):
        await invocation.log(
            line[start : start + MAX_LOG_LINE].decode("utf-8", errors="replace").rstrip("\r")
        )
