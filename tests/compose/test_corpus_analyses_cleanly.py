from pathlib import Path

import pytest

from app.compose import analyze
from app.domain.canvas_check import check_canvas

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "compose"
ENV_FILES = (".env", ".env.example", "example.env")
WORKLOADS = ("Deployment", "StatefulSet", "Job", "DaemonSet", "CronJob")
MISSING = {
    "stacks/compose-go-extends": "extends from another file (extends.file) is not resolved yet",
    "stacks/compose-go-include-extends": "top-level include is not resolved yet",
}


def _cases() -> list[object]:
    if not CORPUS.is_dir():
        return []
    cases: list[object] = []
    for folder in sorted(p for p in CORPUS.glob("*/*") if p.is_dir()):
        name = folder.relative_to(CORPUS).as_posix()
        marks = [pytest.mark.xfail(reason=MISSING[name], strict=True)] if name in MISSING else []
        cases.append(pytest.param(folder, id=name, marks=marks))
    return cases


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the compose corpus is not at {CORPUS}")
@pytest.mark.parametrize("folder", _cases())
def test_corpus_project_analyses_without_errors(folder: Path) -> None:
    files = sorted(
        f for f in folder.iterdir() if f.suffix in (".yaml", ".yml") and not f.name.startswith("output")
    )
    env = next((folder / e for e in ENV_FILES if (folder / e).is_file()), None)
    result = analyze([f.read_text() for f in files], env_text=env.read_text() if env else None)
    assert result.errors == ()
    workloads = [n for n in result.canvas.nodes if n.kind in WORKLOADS]
    assert len(workloads) == len(result.services) > 0
    assert check_canvas(result.canvas).errors == ()
