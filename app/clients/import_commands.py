"""`trellis import compose FILE…`: a Docker Compose project on disk into a new workflow (`importCompose`),
or with ``--dry-run`` only analysed (`analyzeCompose`). The project's other files (``env_file``s,
``configs``/``secrets`` files, ``include``d and ``extends``-ed files, bind-mounted files and folders),
relative to the first file's folder, are found by analysing the project locally first, and sent as
``projectFiles``."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.clients.connection import add_api_options, api_command
from app.clients.output import Exit, Output, table
from app.clients.trellis_api import TrellisApi
from app.compose import analyze
from app.compose.project import MAX_LISTED_ENTRIES, MAX_PROJECT_FILE_BYTES, resolve

ISSUE = "code message service field"
IMPORT = f"""mutation($input: ImportComposeInput!) {{ importCompose(input: $input) {{
  workflow {{ id name namespace workspaceId revision }} importedNodeIds secrets {{ nodeId keys }}
  warnings {{ {ISSUE} }} canvasWarnings {{ path message }} }} }}"""
ANALYZE = f"""query($files: [String!]!, $envFile: String, $profiles: [String!],
  $projectFiles: [ProjectFileInput!], $namespace: String, $serviceType: String!) {{
  analyzeCompose(files: $files, envFile: $envFile, profiles: $profiles, projectFiles: $projectFiles,
    namespace: $namespace, serviceType: $serviceType) {{
  services volumes nodes {{ id kind data }} edges {{ id source target }} secretKeys {{ nodeId keys }}
  warnings {{ {ISSUE} }} errors {{ {ISSUE} }} }} }}"""


def register(commands: Any) -> None:
    imports = commands.add_parser("import", help="import projects into workflows").add_subparsers(
        dest="import_command", required=True
    )
    compose = imports.add_parser(
        "compose", help="a Docker Compose project on disk into a new DRAFT workflow (with its other files)"
    )
    compose.add_argument("files", nargs="+", type=Path, help="compose files; later ones override")
    compose.add_argument("--name", help="the new workflow's name (needed unless --dry-run)")
    compose.add_argument("--workspace", help="workspace id (default: your personal workspace)")
    compose.add_argument(
        "--env-file", type=Path, help="the .env file (default: .env beside the first file, if there)"
    )
    compose.add_argument(
        "--profile", action="append", dest="profiles", help="a compose profile to enable (repeatable)"
    )
    compose.add_argument("--namespace", help="the workflow's Kubernetes namespace")
    compose.add_argument(
        "--service-type", default="ClusterIP", help="ClusterIP, NodePort or LoadBalancer for published ports"
    )
    compose.add_argument(
        "--dry-run", action="store_true", help="analyse only (analyzeCompose); write nothing"
    )
    add_api_options(compose)
    compose.set_defaults(handler=import_compose)


@dataclass
class DiskProject:
    """The project's files as the compose analysis asks for them, read from ``root`` and remembered."""

    root: Path
    read_files: dict[str, str] = field(default_factory=dict)

    @property
    def from_repository(self) -> bool:
        return False

    def _path(self, path: str) -> Path | None:
        normal = resolve("", path)
        return self.root / normal if normal else None

    def read(self, path: str) -> str | None:
        target = self._path(path)
        if target is None or not target.is_file() or target.stat().st_size > MAX_PROJECT_FILE_BYTES:
            return None
        try:
            text = target.read_text()
        except (OSError, UnicodeDecodeError):
            return None
        self.read_files[target.relative_to(self.root).as_posix()] = text
        return text

    def exists(self, path: str) -> bool:
        target = self._path(path)
        return target is not None and target.exists()

    def is_dir(self, path: str) -> bool:
        target = self._path(path)
        return target is not None and target.is_dir()

    def list_dir(self, path: str) -> list[str] | None:
        target = self.root if path in ("", ".") else self._path(path)
        if target is None or not target.is_dir():
            return None
        found: list[str] = []
        entries = 0
        for folder, folders, names in os.walk(target):  # links to folders are not walked
            entries += len(folders) + len(names)
            if entries > MAX_LISTED_ENTRIES:
                return None
            found += [(Path(folder) / name).relative_to(target).as_posix() for name in names]
        return sorted(found)


@dataclass(frozen=True)
class ComposeInput:
    files: list[str]
    env_file: str | None
    project_files: list[dict[str, str]]


def compose_input(args: argparse.Namespace) -> ComposeInput:
    """The compose files, the ``.env`` text and the project files the analysis reads (OSError if a file
    cannot be read)."""
    files = [path.read_text() for path in args.files]
    root = args.files[0].resolve().parent
    env_path = args.env_file or (root / ".env" if (root / ".env").is_file() else None)
    env_text = env_path.read_text() if env_path is not None else None
    project = DiskProject(root)
    analyze(
        files,
        env_text=env_text,
        namespace=args.namespace,
        service_type=args.service_type,
        profiles=args.profiles,
        project=project,
    )
    project_files = [{"path": path, "content": text} for path, text in sorted(project.read_files.items())]
    return ComposeInput(files, env_text, project_files)


def _issues(kind: str, issues: list[dict[str, Any]]) -> list[str]:
    return [
        f"{kind}: {i['message']}" + (f" [{i['field']}]" if i.get("field") else "") + f" ({i['code']})"
        for i in issues
    ]


@api_command
def import_compose(args: argparse.Namespace, api: TrellisApi, out: Output) -> int:
    if not args.dry_run and not args.name:
        out.message("give the new workflow a --name (or analyse only with --dry-run)")
        return Exit.USAGE
    try:
        source = compose_input(args)
    except OSError as exc:
        out.message(f"cannot read {exc.filename}: {exc.strerror}")
        return Exit.USAGE
    out.progress(
        f"sending {len(source.files)} compose file(s) and {len(source.project_files)} other file(s)…"
    )
    if args.dry_run:
        return _analyze(args, api, out, source)
    payload = {
        "files": source.files,
        "envFile": source.env_file,
        "projectFiles": source.project_files,
        "profiles": args.profiles,
        "namespace": args.namespace,
        "serviceType": args.service_type,
        "workspaceId": args.workspace,
        "name": args.name,
    }
    result = api.call(IMPORT, {"input": payload})["importCompose"]
    out.clear_progress()
    workflow = result["workflow"]
    lines = [
        f"imported {len(result['importedNodeIds'])} node(s) into workflow {workflow['name']}"
        f" ({workflow['id']})",
        *_issues("warning", result["warnings"]),
        *[f"canvas warning: {w['path']}: {w['message']}" for w in result["canvasWarnings"]],
        *[
            f"secret {s['nodeId']}: values kept for {', '.join(s['keys'])}"
            for s in result["secrets"]
            if s["keys"]
        ],
    ]
    out.data({**result, "sentProjectFiles": [f["path"] for f in source.project_files]}, "\n".join(lines))
    return Exit.OK


def _analyze(args: argparse.Namespace, api: TrellisApi, out: Output, source: ComposeInput) -> int:
    variables = {
        "files": source.files,
        "envFile": source.env_file,
        "projectFiles": source.project_files,
        "profiles": args.profiles,
        "namespace": args.namespace,
        "serviceType": args.service_type,
    }
    result = api.call(ANALYZE, variables)["analyzeCompose"]
    out.clear_progress()
    nodes = [(n["id"], n["kind"], (n["data"] or {}).get("name", "")) for n in result["nodes"]]
    lines = [
        f"services: {', '.join(result['services'])}",
        *([table(nodes, ("node", "kind", "name"))] if nodes else []),
        *_issues("warning", result["warnings"]),
        *_issues("error", result["errors"]),
    ]
    out.data({**result, "sentProjectFiles": [f["path"] for f in source.project_files]}, "\n".join(lines))
    if result["errors"]:
        if out.json:
            out.message(f"the project cannot be imported: {len(result['errors'])} error(s)")
        return Exit.BAD_INPUT
    return Exit.OK
