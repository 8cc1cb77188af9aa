"""The runners (python, node, bash) run with the real interpreters as a Function's process would: the output
inline, an async entry point, an exception (error envelope, traceback in the log), output that is not JSON
or over the limit, a large output POSTed to a loopback server with the step token (bash with curl, or wget
when curl is missing, and with busybox tools as in the bash image), the server refusing it, no output URL, and
error envelopes cut to the inline limit.
The user's own stdout never reaches the result."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from app.flows import runtimes
from app.flows.function_code import PreparedFunction
from app.flows.runtimes import RUNTIMES, Envelope, EnvelopeError, read_envelope

NO_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed on this machine")
ALL = [pytest.param("python"), pytest.param("node", marks=NO_NODE), pytest.param("bash")]
CALLABLE = [pytest.param("python"), pytest.param("node", marks=NO_NODE)]
TOKEN = "step-token-abc"


@dataclass
class Ran:
    """A runner's exit code, what it wrote to the result path, and its log (stdout then stderr)."""

    code: int
    result: str
    log: str

    @property
    def envelope(self) -> Envelope:
        return read_envelope(self.result)


async def run(
    tmp_path: Path, runtime: str, source: str, given: Any = None, *, path: str | None = None, **env: str
) -> Ran:
    """Run ``runtime``'s runner over ``source`` as a Function process would (its own step directory)."""
    prepared = PreparedFunction(
        RUNTIMES[runtime], source, json.dumps(given).encode(), env.pop("entry", "main")
    )
    scratch = Path(tempfile.mkdtemp(dir=tmp_path))
    step_dir = scratch / "step"
    step_dir.mkdir()
    for name, content in prepared.step_files().items():
        (step_dir / name).write_bytes(content)
    result = scratch / "result"
    environ = {
        "PATH": path or os.environ["PATH"],
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        runtimes.STEP_DIR_ENV: str(step_dir),
        runtimes.ENTRYPOINT_ENV: prepared.entrypoint,
        runtimes.RESULT_PATH_ENV: str(result),
        runtimes.RESULT_INLINE_MAX_ENV: "4000",
        runtimes.OUTPUT_MAX_ENV: "100000",
        **env,
    }
    interpreter = shutil.which(prepared.runtime.interpreter)
    assert interpreter is not None
    process = await asyncio.create_subprocess_exec(
        interpreter,
        str(step_dir / prepared.runtime.runner_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environ,
        cwd=scratch,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    text = result.read_text() if result.exists() else ""
    return Ran(process.returncode, text, out.decode() + err.decode())


SOURCES = {
    "ok": {
        "python": 'def main(x):\n    print(\'{"output": "not this"}\')\n    return {"got": x, "lang": "python"}\n',
        "node": 'exports.main = (x) => { console.log(\'{"output": "not this"}\'); return {got: x, lang: "node"}; };\n',
        "bash": 'echo \'{"output": "not this"}\' >&2\nread -r line\nprintf \'{"got": %s, "lang": "bash"}\' "$line"\n',
    },
    "async": {
        "python": "import asyncio\n\nasync def main(x):\n    await asyncio.sleep(0)\n    return [x, 'awaited']\n",
        "node": "export async function main(x) { await new Promise((r) => setTimeout(r, 1)); return [x, 'awaited']; }\n",
    },
    "raises": {
        "python": "def helper(x):\n    raise ValueError(f'bad input {x}')\n\ndef main(x):\n    return helper(x)\n",
        "node": "function helper(x) { throw new RangeError(`bad input ${x}`); }\nexports.main = (x) => helper(x);\n",
        "bash": 'echo "about to fail with $(cat)" >&2\nexit 3\n',
    },
    "not_json": {
        "python": "def main(x):\n    return {'a set': {1, 2}}\n",
        "node": "exports.main = () => ({ ratio: 0 / 0 });\n",
        "bash": "echo 'this is not JSON'\n",
    },
    "big": {  # an output of 2,002 bytes of JSON: a string of 2,000 x
        "python": "def main(x):\n    return 'x' * 2000\n",
        "node": "exports.main = () => 'x'.repeat(2000);\n",
        "bash": "printf '\"'; head -c 2000 /dev/zero | tr '\\0' x; printf '\"'\n",
    },
    "long_error": {
        "python": "def main(x):\n    raise RuntimeError('é\"\\\\' * 5000)\n",
        "node": "exports.main = () => { throw new Error('é\"\\\\'.repeat(5000)); };\n",
        "bash": "exit 3\n",
    },
}


@pytest.mark.parametrize("runtime", ALL)
async def test_the_output_is_returned_inline_and_printed_lines_are_only_log(
    tmp_path: Path, runtime: str
) -> None:
    ran = await run(tmp_path, runtime, SOURCES["ok"][runtime], {"n": 1, "s": "ü"})
    assert ran.code == 0, ran.log
    assert ran.envelope == Envelope(output={"got": {"n": 1, "s": "ü"}, "lang": runtime})
    assert '{"output": "not this"}' in ran.log


@pytest.mark.parametrize("runtime", CALLABLE)
async def test_an_async_entrypoint_is_awaited(tmp_path: Path, runtime: str) -> None:
    ran = await run(tmp_path, runtime, SOURCES["async"][runtime], {"k": "v"})
    assert ran.code == 0, ran.log
    assert ran.envelope.output == [{"k": "v"}, "awaited"]


@NO_NODE
async def test_node_takes_the_default_export_of_an_es_module_with_top_level_await(tmp_path: Path) -> None:
    source = "const base = await Promise.resolve(40);\nexport default async (x) => base + x;\n"
    ran = await run(tmp_path, "node", source, 2, entry="default")
    assert (ran.code, ran.envelope.output) == (0, 42), ran.log


@pytest.mark.parametrize("runtime", CALLABLE)
async def test_another_entrypoint_is_called_and_a_missing_one_is_an_error(
    tmp_path: Path, runtime: str
) -> None:
    source = {
        "python": "def handle(x):\n    return x + 1\n",
        "node": "module.exports = { handle: (x) => x + 1 };\n",
    }[runtime]
    ran = await run(tmp_path, runtime, source, 41, entry="handle")
    assert (ran.code, ran.envelope.output) == (0, 42)
    ran = await run(tmp_path, runtime, source, 41)
    file = RUNTIMES[runtime].source_file
    assert ran.code == 1
    assert ran.envelope.error_type == "EntrypointError"
    assert ran.envelope.error_message == f"{file} has no function main"


@pytest.mark.parametrize("runtime", ALL)
async def test_a_failure_is_an_error_envelope_with_the_trace_in_the_log(tmp_path: Path, runtime: str) -> None:
    ran = await run(tmp_path, runtime, SOURCES["raises"][runtime], 7)
    assert ran.code == 1
    expected = {
        "python": ("ValueError", "bad input 7"),
        "node": ("RangeError", "bad input 7"),
        "bash": ("ExitError", "main.sh exited with code 3"),
    }[runtime]
    assert (ran.envelope.error_type, ran.envelope.error_message) == expected
    if runtime == "python":
        assert "Traceback (most recent call last)" in ran.log
        assert 'main.py", line 2, in helper' in ran.log
        assert "runner.py" not in ran.log  # the trace starts in the user's code
    elif runtime == "node":
        assert "RangeError: bad input 7" in ran.log
        assert "main.js:1" in ran.log
    else:
        assert "about to fail with 7" in ran.log


@pytest.mark.parametrize("runtime", CALLABLE)
async def test_an_output_that_is_not_json_is_an_output_error(tmp_path: Path, runtime: str) -> None:
    ran = await run(tmp_path, runtime, SOURCES["not_json"][runtime])
    assert ran.code == 1
    assert ran.envelope.error_type == "OutputError"
    assert (ran.envelope.error_message or "").startswith("the output is not JSON")


async def test_bash_output_that_is_not_json_makes_an_envelope_trellis_refuses(tmp_path: Path) -> None:
    ran = await run(tmp_path, "bash", SOURCES["not_json"]["bash"])
    assert ran.code == 0
    with pytest.raises(EnvelopeError, match="not JSON"):
        read_envelope(ran.result)
    silent = await run(tmp_path, "bash", "true\n")
    assert silent.code == 1
    assert silent.envelope.error_type == "OutputError"
    assert silent.envelope.error_message == "main.sh wrote nothing on stdout; its output must be JSON"


@pytest.mark.parametrize("runtime", ALL)
async def test_an_output_over_the_limit_is_refused(tmp_path: Path, runtime: str) -> None:
    ran = await run(tmp_path, runtime, SOURCES["big"][runtime], TRELLIS_OUTPUT_MAX="2001")
    assert ran.code == 1
    assert ran.envelope.error_type == "OutputTooLarge"
    assert ran.envelope.error_message == "the output is 2002 bytes of JSON, more than the limit of 2001"


@pytest.mark.parametrize("runtime", ALL)
async def test_an_output_over_the_inline_limit_with_no_url_is_an_error(tmp_path: Path, runtime: str) -> None:
    ran = await run(tmp_path, runtime, SOURCES["big"][runtime], TRELLIS_RESULT_INLINE_MAX="500")
    assert ran.code == 1
    assert ran.envelope.error_type == "OutputTooLarge"
    assert ran.envelope.error_message == (
        "the output is 2002 bytes of JSON, larger than the inline limit of 500, and no output URL is configured"
    )


@pytest.mark.parametrize("runtime", ALL)
async def test_an_error_envelope_is_cut_to_the_inline_limit(tmp_path: Path, runtime: str) -> None:
    ran = await run(tmp_path, runtime, SOURCES["long_error"][runtime], TRELLIS_RESULT_INLINE_MAX="60")
    assert ran.code == 1
    assert len(ran.result.encode()) <= 60
    assert ran.envelope.failed  # still JSON, however the message was cut


@dataclass
class Receiver:
    """A loopback server standing in for Trellis's output callback: records each POST, answers ``status``."""

    url: str = ""
    status: int = 204
    posts: list[tuple[str, str, bytes]] = field(default_factory=list)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.posts.append((request.headers.get("Authorization", ""), request.content_type, body))
        return web.Response(status=self.status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    app = web.Application()
    app.router.add_post("/v1/steps/output", server.receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1/steps/output"
    try:
        yield server
    finally:
        await runner.cleanup()


def posting(receiver: Receiver) -> dict[str, str]:
    return {
        "TRELLIS_RESULT_INLINE_MAX": "500",
        "TRELLIS_OUTPUT_URL": receiver.url,
        "TRELLIS_STEP_TOKEN": TOKEN,
    }


@pytest.mark.parametrize("runtime", ALL)
async def test_a_large_output_is_posted_with_the_step_token(
    tmp_path: Path, receiver: Receiver, runtime: str
) -> None:
    ran = await run(tmp_path, runtime, SOURCES["big"][runtime], **posting(receiver))
    assert ran.code == 0, ran.log
    [(authorization, content_type, body)] = receiver.posts
    assert authorization == f"Bearer {TOKEN}"
    assert content_type == "application/json"
    assert json.loads(body) == "x" * 2000
    assert ran.envelope == Envelope(posted=len(body))


@pytest.mark.parametrize("runtime", ALL)
async def test_a_refused_post_is_an_error_envelope(tmp_path: Path, receiver: Receiver, runtime: str) -> None:
    receiver.status = 409
    ran = await run(tmp_path, runtime, SOURCES["big"][runtime], **posting(receiver))
    assert ran.code == 1
    assert len(receiver.posts) == 1
    assert ran.envelope.error_type == "OutputPostError"
    assert "409" in (ran.envelope.error_message or "")


def tools(tmp_path: Path, *names: str) -> str:
    """A PATH holding only ``names`` (links to this machine's commands): a runtime image without curl."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in names:
        found = shutil.which(name)
        assert found is not None, name
        (folder / name).symlink_to(found)
    return str(folder)


BASH_TOOLS = ("bash", "mktemp", "wc", "cat", "tr", "rm", "grep", "tail", "head", "printf")


@pytest.mark.skipif(shutil.which("wget") is None, reason="wget is not installed on this machine")
async def test_bash_posts_with_wget_when_curl_is_missing(tmp_path: Path, receiver: Receiver) -> None:
    path = tools(tmp_path, *BASH_TOOLS, "wget")
    ran = await run(tmp_path, "bash", SOURCES["big"]["bash"], path=path, **posting(receiver))
    assert ran.code == 0, ran.log
    [(authorization, _, body)] = receiver.posts
    assert authorization == f"Bearer {TOKEN}"
    assert ran.envelope == Envelope(posted=len(body))
    receiver.status = 409
    refused = await run(tmp_path, "bash", SOURCES["big"]["bash"], path=path, **posting(receiver))
    assert refused.envelope.error_type == "OutputPostError"
    assert "409" in (refused.envelope.error_message or "")


async def test_bash_with_neither_curl_nor_wget_cannot_post(tmp_path: Path, receiver: Receiver) -> None:
    path = tools(tmp_path, *BASH_TOOLS)
    ran = await run(tmp_path, "bash", SOURCES["big"]["bash"], path=path, **posting(receiver))
    assert ran.code == 1
    assert receiver.posts == []
    assert ran.envelope.error_type == "OutputPostError"
    assert "neither curl nor wget" in (ran.envelope.error_message or "")


def busybox_tools(tmp_path: Path) -> str:
    """A PATH like the bash image's: bash, and busybox's applets for everything else (no curl)."""
    busybox, bash = shutil.which("busybox"), shutil.which("bash")
    assert busybox is not None and bash is not None
    folder = tmp_path / "busybox"
    folder.mkdir()
    (folder / "bash").symlink_to(bash)
    for name in (*BASH_TOOLS[1:], "wget", "dirname"):
        (folder / name).symlink_to(busybox)
    return str(folder)


@pytest.mark.skipif(shutil.which("busybox") is None, reason="busybox is not installed on this machine")
async def test_bash_runs_with_busybox_tools_as_in_the_bash_image(tmp_path: Path, receiver: Receiver) -> None:
    path = busybox_tools(tmp_path)
    ran = await run(tmp_path, "bash", SOURCES["ok"]["bash"], {"n": 1}, path=path)
    assert ran.envelope == Envelope(output={"got": {"n": 1}, "lang": "bash"})
    cut = await run(
        tmp_path, "bash", SOURCES["long_error"]["bash"], path=path, TRELLIS_RESULT_INLINE_MAX="60"
    )
    assert cut.envelope == Envelope(error_type="ExitError", error_message="main.sh exited wi")
    posted = await run(tmp_path, "bash", SOURCES["big"]["bash"], path=path, **posting(receiver))
    assert posted.envelope == Envelope(posted=2002), posted.log
    assert [(a, len(b)) for a, _, b in receiver.posts] == [(f"Bearer {TOKEN}", 2002)]
    receiver.status = 409
    refused = await run(tmp_path, "bash", SOURCES["big"]["bash"], path=path, **posting(receiver))
    assert refused.envelope == Envelope(
        error_type="OutputPostError",
        error_message="posting the output failed: wget: server returned error: HTTP/1.1 409 Conflict",
    )
