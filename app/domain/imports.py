"""Imports from a Git repository: the job record, its analysis, and the rules for what a user may ask for.

A :class:`GitImport` moves ``PENDING → CLONING → ANALYZING → COMPLETED | FAILED``. Its ``analysis`` is
what the compose project (or the one-service project) becomes, kept without any secret value: Secret
nodes are listed with their key names only (``secret_keys``).

:func:`parse_repository_url` decides which addresses a clone may use: ``https://``, ``ssh://`` (and
scp-style ``user@host:path``, rewritten as ``ssh://``), ``http://`` only when the operator allows it;
never ``file://``, local paths, ``ext::`` transports or credentials written into the URL.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from app.domain.workflows import Canvas

MAX_LOG_LINES = 300
"""Log lines kept per import: the first quarter and the latest ones."""

MAX_URL_LENGTH = 2048
MAX_REF_LENGTH = 255
MAX_PATH_LENGTH = 1024


class ImportStatus(StrEnum):
    PENDING = "PENDING"
    CLONING = "CLONING"
    ANALYZING = "ANALYZING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def finished(self) -> bool:
        return self in (ImportStatus.COMPLETED, ImportStatus.FAILED)


class ImportSource(StrEnum):
    """What the analysis was made from."""

    COMPOSE = "COMPOSE"  # compose files (and their overrides)
    PROJECT = "PROJECT"  # a Dockerfile or a language project: one service built from source


@dataclass(frozen=True, slots=True)
class ImportLogLine:
    at: datetime
    level: str  # INFO, WARNING, ERROR
    message: str


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """A warning or error of the analysis (as the compose analysis reports it)."""

    code: str
    message: str
    service: str | None = None
    field: str | None = None


@dataclass(frozen=True, slots=True)
class ImportAnalysis:
    """What the repository becomes. ``folder`` is where the project was found (``""`` for the root),
    ``files`` the compose files read (first, then overrides) or the Dockerfile / project marker.
    ``secret_keys`` maps Secret node ids to the key names whose values were found (never the values)."""

    source: ImportSource
    folder: str
    files: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    configs: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    canvas: Canvas = field(default_factory=Canvas)
    secret_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    warnings: tuple[ImportProblem, ...] = ()
    errors: tuple[ImportProblem, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """What the user asked for besides the repository: compose profiles and the nodes' namespace."""

    profiles: tuple[str, ...] = ()
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class GitImport:
    """One import job. ``url`` is the normalised repository address (never with credentials); ``ref`` a
    branch, tag or full commit sha (None: the default branch); ``path`` the folder (or compose file) to
    import (None: look everywhere). ``candidates`` lists the folders to choose from when several compose
    projects were found (the import then completes without an analysis); ``message`` says what the user
    should do next; ``commit`` is the sha that was imported. ``revision`` counts the saves (0 when
    recorded), so a stream can tell a change it has seen from one it has missed."""

    id: str
    workspace_id: str
    created_by: str
    url: str
    ref: str | None
    path: str | None
    options: ImportOptions
    status: ImportStatus
    created_at: datetime
    updated_at: datetime
    percent: int = 0
    logs: tuple[ImportLogLine, ...] = ()
    error: str | None = None
    message: str | None = None
    candidates: tuple[str, ...] = ()
    commit: str | None = None
    analysis: ImportAnalysis | None = None
    revision: int = 0

    def logged(self, line: ImportLogLine) -> GitImport:
        """This import with ``line`` appended, keeping at most :data:`MAX_LOG_LINES` lines."""
        logs = (*self.logs, line)
        if len(logs) > MAX_LOG_LINES:
            head = MAX_LOG_LINES // 4
            logs = logs[:head] + logs[-(MAX_LOG_LINES - head) :]
        return replace(self, logs=logs)


# --- Progress events ------------------------------------------------------------------------------------


def progress_payload(job: GitImport, new_lines: int) -> dict[str, Any]:
    """What an event says about a change of ``job`` (JSON-safe): its revision, status, percent, error,
    message, candidates, commit and the ``new_lines`` last log lines. The analysis is left out."""
    lines = job.logs[len(job.logs) - new_lines :] if new_lines else ()
    return {
        "revision": job.revision,
        "status": job.status.value,
        "percent": job.percent,
        "error": job.error,
        "message": job.message,
        "candidates": list(job.candidates),
        "commit": job.commit,
        "updatedAt": job.updated_at.isoformat(),
        "log": [{"at": line.at.isoformat(), "level": line.level, "message": line.message} for line in lines],
    }


def apply_progress(job: GitImport, payload: Mapping[str, Any]) -> GitImport | None:
    """``job`` moved on by the event ``payload`` of its next revision; None when the payload is not the
    next revision (one was missed) or is malformed: read the import again then."""
    try:
        if int(payload["revision"]) != job.revision + 1:
            return None
        moved = replace(
            job,
            revision=int(payload["revision"]),
            status=ImportStatus(payload["status"]),
            percent=int(payload["percent"]),
            error=payload.get("error"),
            message=payload.get("message"),
            candidates=tuple(str(c) for c in payload.get("candidates") or ()),
            commit=payload.get("commit"),
            updated_at=datetime.fromisoformat(payload["updatedAt"]),
        )
        for line in payload.get("log") or ():
            moved = moved.logged(
                ImportLogLine(datetime.fromisoformat(line["at"]), str(line["level"]), str(line["message"]))
            )
    except (KeyError, TypeError, ValueError):
        return None
    return moved


# --- What a user may ask for ----------------------------------------------------------------------------


class RepositoryUrlError(ValueError):
    """The address cannot be cloned; the message says why."""


@dataclass(frozen=True, slots=True)
class RepositoryUrl:
    """A repository address a clone may use. ``url`` is what git is given (scp-style rewritten as
    ``ssh://``); ``host`` is lower case, without brackets or port."""

    url: str
    scheme: str  # https, http or ssh
    host: str
    port: int | None
    username: str | None
    path: str

    @property
    def name(self) -> str:
        """The last path segment without ``.git`` (``shop`` for ``…/acme/shop.git``)."""
        last = self.path.rstrip("/").rsplit("/", 1)[-1]
        return last.removesuffix(".git") or self.host


_SCP = re.compile(r"^(?:(?P<user>[^@/:\s]+)@)?(?P<host>\[[^\]/]+\]|[^@/:\s\[\]]+):(?P<path>[^\s].*)$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_TRANSPORT = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")


def parse_repository_url(text: str, *, allow_http: bool) -> RepositoryUrl:
    """Check and normalise a repository address; :class:`RepositoryUrlError` says why one is refused."""
    url = text.strip()
    if not url:
        raise RepositoryUrlError("give the repository's address, e.g. https://github.com/acme/shop.git")
    if len(url) > MAX_URL_LENGTH:
        raise RepositoryUrlError(f"the address is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise RepositoryUrlError("the address contains spaces or control characters")
    if url.startswith("-"):
        raise RepositoryUrlError("the address cannot start with '-'")
    if _TRANSPORT.match(url):
        raise RepositoryUrlError("remote helper transports (transport::address) are not allowed")
    if not _SCHEME.match(url):
        scp = _SCP.match(url)
        if scp is None or url.startswith(("/", ".", "~")) or "/" in scp.group("host"):
            raise RepositoryUrlError("local paths cannot be cloned: give an https:// or ssh:// address")
        user = scp.group("user")
        path = scp.group("path")
        url = f"ssh://{user + '@' if user else ''}{scp.group('host')}/{path.lstrip('/')}"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    allowed = ("https", "ssh", "http") if allow_http else ("https", "ssh")
    if scheme not in allowed:
        hint = " (plain http is off: TRELLIS_GIT_ALLOW_HTTP)" if scheme == "http" else ""
        raise RepositoryUrlError(f"{scheme}:// addresses are not allowed{hint}; use https:// or ssh://")
    if parts.password is not None or (scheme != "ssh" and parts.username is not None):
        raise RepositoryUrlError(
            "do not put credentials in the address: add a Git credential for the host instead"
        )
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise RepositoryUrlError(f"the address is malformed: {exc}") from None
    if not host:
        raise RepositoryUrlError("the address names no host")
    if host.startswith("-") or (parts.username or "").startswith("-"):
        raise RepositoryUrlError("the host and user name cannot start with '-'")
    if parts.query or parts.fragment:
        raise RepositoryUrlError("the address cannot have a query (?…) or a fragment (#…)")
    path = parts.path
    if not path.strip("/"):
        raise RepositoryUrlError("the address names no repository (the path is empty)")
    return RepositoryUrl(
        url=url, scheme=scheme, host=host.lower(), port=port, username=parts.username, path=path
    )


_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_BAD_REF = re.compile(r"(?:^[-/.])|(?:\.\.)|(?://)|(?:@\{)|(?:[/.]$)|(?:\.lock$)|(?:\.lock/)|(?:/\.)")
_REF_CHARS = re.compile(r"^[A-Za-z0-9._/+@-]+$")


def is_commit_sha(ref: str) -> bool:
    """Whether ``ref`` is a full commit id (abbreviated ones cannot be fetched, and read as a name)."""
    return _SHA.match(ref) is not None


def check_ref(ref: str) -> str:
    """A branch, tag (``v1.2``, ``refs/tags/v1.2``) or full commit sha, as git accepts it on the command
    line; ``ValueError`` saying why not."""
    if len(ref) > MAX_REF_LENGTH:
        raise ValueError(f"at most {MAX_REF_LENGTH} characters")
    if not _REF_CHARS.match(ref) or _BAD_REF.search(ref):
        raise ValueError("not a valid branch, tag or commit name")
    return ref


def check_path(path: str) -> str:
    """A folder or file inside the repository, as a normalised relative POSIX path (``""`` for the
    root); ``ValueError`` when it is absolute, climbs out, or holds odd characters."""
    if len(path) > MAX_PATH_LENGTH:
        raise ValueError(f"at most {MAX_PATH_LENGTH} characters")
    if "\\" in path or "\x00" in path or any(ord(ch) < 0x20 for ch in path):
        raise ValueError("use forward slashes and printable characters")
    if path.startswith(("/", "~")):
        raise ValueError("give a path relative to the repository root")
    normal = posixpath.normpath(path.strip() or ".")
    if normal == "..":
        raise ValueError("the path leaves the repository")
    if normal.startswith("../"):
        raise ValueError("the path leaves the repository")
    if normal == ".git" or normal.startswith(".git/"):
        raise ValueError("the .git folder cannot be imported")
    return "" if normal == "." else normal


# --- Clone failures ---------------------------------------------------------------------------------------


class CloneFailure(StrEnum):
    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
    NOT_FOUND = "NOT_FOUND"  # no such repository (or a private one and no credential)
    REF_NOT_FOUND = "REF_NOT_FOUND"
    UNREACHABLE = "UNREACHABLE"  # DNS, connection, TLS
    TIMEOUT = "TIMEOUT"
    TOO_LARGE = "TOO_LARGE"
    TOO_MANY_FILES = "TOO_MANY_FILES"
    FAILED = "FAILED"  # anything else git reported


class CloneFailed(Exception):
    """A clone that could not be made; ``message`` is meant for the user (no secrets, no server paths)."""

    def __init__(self, reason: CloneFailure, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def import_topic(import_id: str) -> str:
    """The event-bus topic of one import's progress."""
    return f"import:{import_id}"
