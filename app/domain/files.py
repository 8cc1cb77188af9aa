"""Workspace files: small text files (scripts) that flow steps share, addressed by a relative path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from app.domain.workflows import Canvas

MAX_PATH = 255
MAX_CONTENT_TYPE = 100
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")
_BY_SUFFIX = {
    ".py": "text/x-python",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".ts": "text/x-typescript",
    ".sh": "text/x-shellscript",
    ".bash": "text/x-shellscript",
    ".json": "application/json",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".md": "text/markdown",
}


@dataclass(frozen=True, slots=True)
class WorkspaceFile:
    """A file of a workspace. ``path`` is unique in the workspace; uploading to it again replaces the
    content and bumps ``revision`` (the id stays). ``size`` is the content's length in UTF-8 bytes."""

    id: str
    workspace_id: str
    path: str
    content: str
    content_type: str
    size: int
    sha256: str
    revision: int
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot name a file, or ``None``: relative, ``/``-separated, no ``.`` or ``..``
    segment, no empty segment, no backslash or control character, at most :data:`MAX_PATH` characters."""
    if not path:
        return "must not be empty"
    if len(path) > MAX_PATH:
        return f"must be at most {MAX_PATH} characters"
    if path.startswith("/"):
        return "must be relative (no leading /), e.g. lib/invoices.py"
    if "\\" in path:
        return "separates folders with /, not \\"
    if any(ord(char) < 32 or ord(char) == 127 for char in path):
        return "must not hold control characters"
    segments = path.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        return "must not hold empty, . or .. segments (no //, no trailing /, no ..)"
    if any(segment != segment.strip() for segment in segments):
        return "must not have spaces at the start or end of a segment"
    return None


def content_type_problem(content_type: str) -> str | None:
    """Why ``content_type`` is not a media type (``text/x-python``), or ``None``."""
    if len(content_type) > MAX_CONTENT_TYPE or not _CONTENT_TYPE.match(content_type):
        return f"must be a media type such as text/x-python, at most {MAX_CONTENT_TYPE} characters"
    return None


def guess_content_type(path: str) -> str:
    """The media type of ``path`` by its suffix; ``text/plain`` when unknown."""
    return _BY_SUFFIX.get(PurePosixPath(path).suffix.lower(), "text/plain")


def nodes_using_file(canvas: Canvas, file_id: str) -> tuple[str, ...]:
    """Ids of the Function nodes of ``canvas`` whose source is the file ``file_id``."""
    return tuple(
        node.id for node in canvas.nodes if node.kind == "Function" and node.data.get("fileId") == file_id
    )
