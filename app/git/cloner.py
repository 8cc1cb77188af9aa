"""Shallow, bounded clones with the ``git`` binary (the ``GitCloner`` port).

One clone is ``git init`` + ``git fetch --depth 1 --no-tags <url> <ref>`` (a branch, a tag, a full
commit sha, or ``HEAD``) + a look at the tree (``ls-tree``: file count and sizes, before anything is
written) + ``git checkout``, in a fresh temporary folder removed when the context closes, whatever
happens. Git runs with no system or global configuration (``HOME`` is a temporary folder), no
terminal prompts, no hooks, no submodules, no LFS, symbolic links checked out as plain files (and then
left out), redirects refused and only the allowed protocols (https and ssh; http when the operator
allows it). Credentials go through the environment, never the command line: a token as an
``http.extraHeader`` (``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n``), an SSH key as a 0600 file in the
temporary home. The whole clone has one deadline; at the deadline, on a limit or on cancellation the
process group is killed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import shlex
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from app.compose.project import ProjectFiles
from app.domain.git import DEFAULT_SSH_USERNAME, DEFAULT_TOKEN_USERNAME, GitAuth
from app.domain.imports import CloneFailed, CloneFailure, is_commit_sha
from app.git.failures import classify
from app.git.progress import parse_progress, split_lines
from app.git.project_files import DirectoryProjectFiles
from app.ports import CloneLimits, CloneProgress

log = logging.getLogger(__name__)

SIZE_POLL_SECONDS = 0.1
KEPT_STDERR_LINES = 40
MiB = 1024 * 1024

_SYMLINK = "120000"
_GITLINK = "160000"

ProgressCallback = Callable[[CloneProgress], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CheckedOut:
    """A checkout (the ``Checkout`` port)."""

    commit: str
    files: tuple[str, ...]
    skipped: tuple[str, ...]
    project: ProjectFiles


@dataclass(frozen=True, slots=True)
class TreeEntry:
    mode: str
    size: int
    path: str


def parse_tree(output: bytes) -> list[TreeEntry]:
    """Entries of ``git ls-tree -r -l -z``: ``<mode> <type> <sha> <size>\\t<path>\\0`` (size ``-`` for
    submodules)."""
    entries = []
    for record in output.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        fields = meta.split()
        if len(fields) != 4:
            continue
        size = int(fields[3]) if fields[3].isdigit() else 0
        entries.append(TreeEntry(fields[0].decode(), size, raw_path.decode("utf-8", "surrogateescape")))
    return entries


def _mib(count: int) -> str:
    return f"{count / MiB:.1f} MiB"


class GitCli:
    """Clones with the ``git`` binary into ``work_dir`` (the system's temporary folder by default)."""

    def __init__(
        self,
        *,
        work_dir: Path | None = None,
        allow_http: bool = False,
        git: str = "git",
        ssh_connect_timeout_seconds: int = 20,
    ) -> None:
        self._work_dir = work_dir
        self._allow_http = allow_http
        self._git = git
        self._ssh_timeout = ssh_connect_timeout_seconds

    @contextlib.asynccontextmanager
    async def clone(
        self,
        url: str,
        ref: str | None,
        *,
        auth: GitAuth | None,
        limits: CloneLimits,
        addresses: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
    ) -> AsyncIterator[CheckedOut]:
        if self._work_dir is not None:
            self._work_dir.mkdir(parents=True, exist_ok=True)
        base = Path(tempfile.mkdtemp(prefix="trellis-clone-", dir=self._work_dir))
        try:
            clone = _Clone(self, base, url, ref, auth, limits, addresses, on_progress)
            yield await clone.run()
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def environment(
        self, home: Path, *, url: str, auth: GitAuth | None, addresses: Sequence[str]
    ) -> dict[str, str]:
        """The environment of every git process of one clone (credentials included, so never logged)."""
        protocols = ["https", "ssh", *(["http"] if self._allow_http else [])]
        config: list[tuple[str, str]] = [
            ("protocol.allow", "never"),
            *((f"protocol.{name}.allow", "always") for name in protocols),
            ("core.hooksPath", os.devnull),
            ("core.symlinks", "false"),
            ("core.fsmonitor", "false"),
            ("core.askPass", ""),
            ("credential.helper", ""),
            ("http.followRedirects", "false"),
            ("submodule.recurse", "false"),
            ("fetch.recurseSubmodules", "false"),
            ("transfer.fsckObjects", "true"),
            ("advice.detachedHead", "false"),
            ("init.defaultBranch", "main"),
            ("gc.auto", "0"),
            ("maintenance.auto", "false"),
        ]
        parts = urlsplit(url)
        if addresses and parts.scheme in ("http", "https") and parts.hostname:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            pinned = ",".join(f"[{a}]" if ":" in a else a for a in addresses)
            config.append(("http.curloptResolve", f"{parts.hostname}:{port}:{pinned}"))
        if auth is not None and auth.kind == "TOKEN":
            user = auth.username or DEFAULT_TOKEN_USERNAME
            basic = base64.b64encode(f"{user}:{auth.secret}".encode()).decode()
            config.append(("http.extraHeader", f"Authorization: Basic {basic}"))
        ssh = [
            "ssh",
            "-F",
            os.devnull,
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=accept-new",
            "-o",
            f"UserKnownHostsFile={home / 'known_hosts'}",
            "-o",
            f"ConnectTimeout={self._ssh_timeout}",
        ]
        if auth is not None and auth.kind == "SSH_KEY":
            ssh += ["-i", str(home / "id_key")]
        if addresses and parts.scheme == "ssh":
            ssh += ["-o", f"HostName={addresses[0]}", "-o", f"HostKeyAlias={parts.hostname}"]
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "LC_ALL": "C",
            "LANG": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_LFS_SKIP_SMUDGE": "1",
            "GIT_ALLOW_PROTOCOL": ":".join(protocols),
            "GIT_PROTOCOL_FROM_USER": "0",
            "GIT_SSH_COMMAND": shlex.join(ssh),
            "GIT_SSH_VARIANT": "ssh",
            "GIT_CONFIG_COUNT": str(len(config)),
        }
        for index, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        return env

    @property
    def executable(self) -> str:
        return self._git


class _Clone:
    """The steps of one clone, sharing its folder, environment and deadline."""

    def __init__(
        self,
        cli: GitCli,
        base: Path,
        url: str,
        ref: str | None,
        auth: GitAuth | None,
        limits: CloneLimits,
        addresses: Sequence[str],
        on_progress: ProgressCallback | None,
    ) -> None:
        self._cli = cli
        self._base = base
        self._home = base / "home"
        self._repo = base / "repo"
        self._url = url
        self._ref = ref
        self._auth = auth
        self._limits = limits
        self._addresses = addresses
        self._on_progress = on_progress
        self._host = urlsplit(url).hostname or url
        self._deadline = asyncio.get_running_loop().time() + limits.timeout_seconds

    async def run(self) -> CheckedOut:
        url = self._prepare()
        env = self._cli.environment(self._home, url=url, auth=self._auth, addresses=self._addresses)
        await self._git(["init", "-q", "--template=", str(self._repo)], env, cwd=self._base)
        target = self._ref or "HEAD"
        await self._git(["fetch", "--progress", "--depth", "1", "--no-tags", url, target], env, progress=True)
        sha = (await self._git(["rev-parse", "--verify", "FETCH_HEAD^{commit}"], env)).decode().strip()
        if self._ref and is_commit_sha(self._ref) and sha != self._ref:
            raise CloneFailed(CloneFailure.REF_NOT_FOUND, f"{self._ref} is not a commit of the repository")
        listing = await self._git(
            ["ls-tree", "-r", "-l", "-z", "--full-tree", sha], env, max_records=self._limits.max_files + 1
        )
        entries = parse_tree(listing)
        self._check_tree(entries)
        await self._git(["checkout", "-q", "--detach", sha], env)
        if self._on_progress is not None:
            await self._on_progress(CloneProgress("Checked out", 100))
        files, skipped = [], []
        for entry in entries:
            if entry.mode in (_SYMLINK, _GITLINK):
                skipped.append(entry.path)
                if entry.mode == _SYMLINK:
                    with contextlib.suppress(OSError):
                        (self._repo / entry.path).unlink()  # a plain file holding the link's target
            else:
                files.append(entry.path)
        return CheckedOut(sha, tuple(files), tuple(skipped), DirectoryProjectFiles(self._repo))

    def _prepare(self) -> str:
        """Make the private home (and the key file); the URL as git is given it."""
        self._home.mkdir(mode=0o700)
        url = self._url
        scheme = urlsplit(url).scheme
        auth = self._auth
        if auth is None:
            return url
        if auth.kind == "TOKEN" and scheme == "ssh":
            raise CloneFailed(
                CloneFailure.AUTHENTICATION_FAILED,
                f"the Git credential for {self._host} is a token, which works with https:// addresses only; "
                "use the https:// address or store an SSH key",
            )
        if auth.kind == "SSH_KEY" and scheme != "ssh":
            raise CloneFailed(
                CloneFailure.AUTHENTICATION_FAILED,
                f"the Git credential for {self._host} is an SSH key, which works with ssh:// addresses only; "
                "use the ssh:// address or store a token",
            )
        if auth.kind == "SSH_KEY":
            key = auth.secret if auth.secret.endswith("\n") else auth.secret + "\n"
            fd = os.open(self._home / "id_key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(key)
            parts = urlsplit(url)
            if parts.username is None:
                user = auth.username or DEFAULT_SSH_USERNAME
                url = urlunsplit(parts._replace(netloc=f"{user}@{parts.netloc}"))
        return url

    def _check_tree(self, entries: Sequence[TreeEntry]) -> None:
        limits = self._limits
        if len(entries) > limits.max_files:
            raise CloneFailed(
                CloneFailure.TOO_MANY_FILES,
                f"the repository has more than {limits.max_files} files, over the file limit "
                f"(TRELLIS_GIT_MAX_FILES)",
            )
        total = sum(entry.size for entry in entries)
        if total > limits.max_bytes:
            raise CloneFailed(
                CloneFailure.TOO_LARGE,
                f"the repository's files add up to {_mib(total)}, over the size limit of "
                f"{_mib(limits.max_bytes)} (TRELLIS_GIT_MAX_REPO_BYTES)",
            )

    async def _git(
        self,
        args: list[str],
        env: Mapping[str, str],
        *,
        cwd: Path | None = None,
        progress: bool = False,
        max_records: int | None = None,
    ) -> bytes:
        """Run one git command inside the clone's deadline; its stdout. ``CloneFailed`` on failure."""
        loop = asyncio.get_running_loop()
        remaining = self._deadline - loop.time()
        if remaining <= 0:
            raise self._timeout()
        try:
            process = await asyncio.create_subprocess_exec(
                self._cli.executable,
                *args,
                cwd=cwd or self._repo,
                env=dict(env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # its own process group: killed as a whole
            )
        except FileNotFoundError:
            log.error("the git executable %r was not found", self._cli.executable)
            raise CloneFailed(CloneFailure.FAILED, "git is not installed on the server") from None
        stderr: list[str] = []
        stdout = bytearray()
        reader = asyncio.ensure_future(self._collect(process, stdout, stderr, progress, max_records))
        watcher = asyncio.ensure_future(self._watch_size()) if progress else None
        try:
            waiting = {reader} if watcher is None else {reader, watcher}
            done, _ = await asyncio.wait(waiting, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            if watcher is not None and watcher in done:
                watcher.result()  # raises CloneFailed (too large)
            if reader not in done:
                raise self._timeout()
            reader.result()
        finally:
            for task in (reader, watcher):
                if task is not None and not task.done():
                    task.cancel()
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            for task in (reader, watcher):
                if task is not None:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
        if process.returncode != 0:
            raise classify(
                [line.replace(str(self._base), "<clone>") for line in stderr],
                host=self._host,
                ref=self._ref,
                with_credentials=self._auth is not None,
            )
        return bytes(stdout)

    async def _collect(
        self,
        process: asyncio.subprocess.Process,
        stdout: bytearray,
        stderr: list[str],
        progress: bool,
        max_records: int | None,
    ) -> None:
        async def out() -> None:
            assert process.stdout is not None
            records = 0
            while chunk := await process.stdout.read(65536):
                stdout.extend(chunk)
                if max_records is not None:
                    records += chunk.count(b"\0")
                    if records > max_records:
                        raise CloneFailed(
                            CloneFailure.TOO_MANY_FILES,
                            f"the repository has more than {max_records - 1} files, over the file limit "
                            "(TRELLIS_GIT_MAX_FILES)",
                        )

        async def err() -> None:
            assert process.stderr is not None
            rest = ""
            while chunk := await process.stderr.read(4096):
                lines, rest = split_lines(rest + chunk.decode("utf-8", "replace"))
                for line in lines:
                    await self._line(line, stderr, progress)
            if rest.strip():
                await self._line(rest, stderr, progress)

        await asyncio.gather(out(), err())
        await process.wait()

    async def _line(self, line: str, stderr: list[str], progress: bool) -> None:
        report = parse_progress(line) if progress else None
        if report is None:
            if not line.startswith("remote: ") or "error" in line.lower():
                stderr.append(line.strip())
                del stderr[:-KEPT_STDERR_LINES]
            return
        if report.received_bytes is not None and report.received_bytes > self._limits.max_bytes:
            raise self._too_large()
        if self._on_progress is not None:
            await self._on_progress(CloneProgress(report.phase, report.overall, report.received_bytes))

    async def _watch_size(self) -> None:
        """Fail as soon as what was downloaded is larger than the limit."""
        while True:
            await asyncio.sleep(SIZE_POLL_SECONDS)
            if _folder_size(self._repo) > self._limits.max_bytes:
                raise self._too_large()

    def _too_large(self) -> CloneFailed:
        return CloneFailed(
            CloneFailure.TOO_LARGE,
            f"the repository is larger than the size limit of {_mib(self._limits.max_bytes)} "
            "(TRELLIS_GIT_MAX_REPO_BYTES)",
        )

    def _timeout(self) -> CloneFailed:
        return CloneFailed(
            CloneFailure.TIMEOUT,
            f"the clone took longer than the time limit of {self._limits.timeout_seconds:g} s "
            "(TRELLIS_GIT_CLONE_TIMEOUT_SECONDS)",
        )


def _folder_size(root: Path) -> int:
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total
