"""A real Git smart-HTTP server on loopback for tests: ``git http-backend`` run as CGI behind aiohttp.

Repositories are bare repositories under ``root`` created by :meth:`GitServer.repository` from a dict of
files (path → text or bytes), committed and pushed with the real ``git``; branches and tags can be added.
A repository can require HTTP Basic credentials (:meth:`GitServer.protect`), be held (:meth:`GitServer.hold`:
requests wait until :meth:`GitServer.release`) or stall (:meth:`GitServer.stall`: requests are accepted and
never answered, until the server stops). A client that goes away mid-answer is no error of the server.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_TERMINAL_PROMPT": "0",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "LANG": "C",
}


def git(*args: str, cwd: Path) -> str:
    """Run ``git`` for setting a repository up; its output, stripped."""
    done = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


Files = Mapping[str, str | bytes]


def write_files(work: Path, files: Files) -> None:
    for name, content in files.items():
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


@dataclass
class Repository:
    """A bare repository served by the test server and the work tree it was pushed from."""

    name: str
    bare: Path
    work: Path
    url: str
    commits: list[str] = field(default_factory=list)

    def commit(self, files: Files, message: str = "change", *, branch: str = "main") -> str:
        """Write ``files`` on ``branch`` (created from the current commit if new), commit, push; the sha."""
        if git("branch", "--list", branch, cwd=self.work):
            git("checkout", "-q", branch, cwd=self.work)
        else:
            git("checkout", "-q", "-b", branch, cwd=self.work)
        write_files(self.work, files)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        git("push", "-q", "origin", branch, cwd=self.work)
        sha = git("rev-parse", "HEAD", cwd=self.work)
        self.commits.append(sha)
        return sha

    def tag(self, name: str, sha: str | None = None) -> None:
        git("tag", name, sha or "HEAD", cwd=self.work)
        git("push", "-q", "origin", name, cwd=self.work)


class GitServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "repos").mkdir(parents=True, exist_ok=True)
        (root / "work").mkdir(parents=True, exist_ok=True)
        self._credentials: dict[str, str] = {}  # repository name → expected Authorization header
        self._gates: dict[str, asyncio.Event] = {}
        self._waiting: dict[str, asyncio.Event] = {}  # set once a request waits at the gate
        self._stop = asyncio.Event()
        self.requests: list[str] = []
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> GitServer:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        self._stop.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def repository(self, name: str, files: Files, *, branch: str = "main") -> Repository:
        """A new bare repository ``<name>.git`` whose first commit on ``branch`` holds ``files``."""
        bare = self.root / "repos" / f"{name}.git"
        git("init", "-q", "--bare", f"--initial-branch={branch}", str(bare), cwd=self.root)
        git("config", "http.receivepack", "false", cwd=bare)
        work = self.root / "work" / name
        git("init", "-q", f"--initial-branch={branch}", str(work), cwd=self.root)
        git("remote", "add", "origin", str(bare), cwd=work)
        repo = Repository(name, bare, work, f"{self.base_url}/{name}.git")
        repo.commit(files, "first", branch=branch)
        return repo

    def protect(self, name: str, username: str, password: str) -> None:
        """Require HTTP Basic ``username:password`` for repository ``name``."""
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._credentials[name] = f"Basic {token}"

    def hold(self, name: str) -> None:
        """Make requests for repository ``name`` wait until :meth:`release`."""
        self._gates[name] = asyncio.Event()
        self._waiting[name] = asyncio.Event()

    async def held_request(self, name: str) -> None:
        """Return once a request for repository ``name`` waits at its gate."""
        await self._waiting[name].wait()

    def release(self, name: str) -> None:
        self._gates.pop(name).set()

    def stall(self, name: str) -> None:
        """Accept requests for repository ``name`` and never answer them."""
        self.hold(name)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        self.requests.append(f"{request.method} {path}?{request.query_string}")
        name = path.strip("/").split("/", 1)[0].removesuffix(".git")
        gate = self._gates.get(name)
        if gate is not None:
            self._waiting[name].set()
            stop = asyncio.ensure_future(self._stop.wait())
            opened = asyncio.ensure_future(gate.wait())
            await asyncio.wait({stop, opened}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            opened.cancel()
            if self._stop.is_set():
                raise web.HTTPServiceUnavailable()
        expected = self._credentials.get(name)
        if expected is not None and request.headers.get("Authorization") != expected:
            return web.Response(
                status=401, headers={"WWW-Authenticate": 'Basic realm="test"'}, text="authentication required"
            )
        return await self._cgi(request, path)

    async def _cgi(self, request: web.Request, path: str) -> web.StreamResponse:
        body = await request.read()
        env = {
            **GIT_ENV,
            "GIT_PROJECT_ROOT": str(self.root / "repos"),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": request.method,
            "PATH_INFO": path,
            "QUERY_STRING": request.query_string,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_USER": "tester" if request.headers.get("Authorization") else "",
        }
        if "Git-Protocol" in request.headers:
            env["GIT_PROTOCOL"] = request.headers["Git-Protocol"]
        if "Content-Encoding" in request.headers:
            env["HTTP_CONTENT_ENCODING"] = request.headers["Content-Encoding"]
        process = await asyncio.create_subprocess_exec(
            "git",
            "http-backend",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
        )
        assert process.stdin is not None and process.stdout is not None
        with contextlib.suppress(ConnectionError):  # http-backend may answer without reading it all
            process.stdin.write(body)
            await process.stdin.drain()
        process.stdin.close()
        status, headers = 200, {}
        while True:
            line = (await process.stdout.readline()).decode("latin-1").rstrip("\r\n")
            if not line:
                break
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            else:
                headers[key.strip()] = value.strip()
        response = web.StreamResponse(status=status, headers=headers)
        try:
            await response.prepare(request)
            while chunk := await process.stdout.read(65536):
                await response.write(chunk)
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away (a clone stopped at a limit)
        finally:
            if process.returncode is None:
                # os.kill, not process.kill: Popen.kill polls, reaping a child the event loop still waits for
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
            await process.wait()
        return response


@contextlib.asynccontextmanager
async def serving_git(root: Path) -> AsyncIterator[GitServer]:
    """A started :class:`GitServer` keeping its repositories under ``root``; closed afterwards."""
    server = await GitServer(root).start()
    try:
        yield server
    finally:
        await server.close()
