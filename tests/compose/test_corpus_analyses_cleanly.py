"""Every project of the real-world corpus analyses without errors, its other files (env files, included
and extended compose files, configs…) handed over as a repository's files, in place."""

from pathlib import Path

import pytest

from app.compose import FilesInMemory, analyze
from app.domain.canvas_check import check_canvas

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "compose"
ENV_FILES = (".env", ".env.example", "example.env")
WORKLOADS = ("Deployment", "StatefulSet", "Job", "DaemonSet", "CronJob")
MISSING: dict[str, str] = {}


def _cases() -> list[object]:
    if not CORPUS.is_dir():
        return []
    cases: list[object] = []
    for folder in sorted(p for p in CORPUS.glob("*/*") if p.is_dir()):
        name = folder.relative_to(CORPUS).as_posix()
        marks = [pytest.mark.xfail(reason=MISSING[name], strict=True)] if name in MISSING else []
        cases.append(pytest.param(folder, id=name, marks=marks))
    return cases


def _compose_files(folder: Path) -> list[Path]:
    return sorted(
        f for f in folder.iterdir() if f.suffix in (".yaml", ".yml") and not f.name.startswith("output")
    )


def project_files(folder: Path) -> FilesInMemory:
    """Every other file of ``folder`` (paths relative to it), as a cloned repository would show them.
    A ``.env`` copied from its example is there too: the upstream install step (see INDEX.md)."""
    compose = set(_compose_files(folder))
    files: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path not in compose:
            try:
                files[path.relative_to(folder).as_posix()] = path.read_text()
            except UnicodeDecodeError:
                continue
    example = next((e for e in ENV_FILES if e in files), None)
    if example is not None:
        files.setdefault(".env", files[example])
    return FilesInMemory(files, from_repository=True)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the compose corpus is not at {CORPUS}")
@pytest.mark.parametrize("folder", _cases())
def test_corpus_project_analyses_without_errors(folder: Path) -> None:
    project = project_files(folder)
    env = project.read(".env")
    result = analyze([f.read_text() for f in _compose_files(folder)], env_text=env, project=project)
    assert result.errors == ()
    workloads = [n for n in result.canvas.nodes if n.kind in WORKLOADS]
    assert len(workloads) == len(result.services) > 0
    assert check_canvas(result.canvas).errors == ()
