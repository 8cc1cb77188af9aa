"""How long does analysing a compose project take? Prints milliseconds per project for the real-world
corpus beside the repository (../shared/corpus/compose), the largest first, and the total."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from app.compose import FilesInMemory, analyze

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "compose"
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
MAX_PROJECT_FILE = 256 * 1024


def _project(folder: Path) -> tuple[list[str], FilesInMemory, str | None]:
    composes = sorted(p for p in folder.iterdir() if p.name in COMPOSE_NAMES)
    files = {
        p.relative_to(folder).as_posix(): p.read_text(errors="replace")
        for p in folder.rglob("*")
        if p.is_file() and p.stat().st_size <= MAX_PROJECT_FILE
    }
    env = files.get(".env") or files.get(".env.example") or files.get("example.env")
    return [p.read_text() for p in composes], FilesInMemory(files, from_repository=True), env


def main() -> None:
    if not CORPUS.is_dir():
        print(f"compose analysis: no corpus at {CORPUS}")
        return
    print("compose analysis (load, validate, merge, translate, check), median of 5 runs")
    timings: list[tuple[float, str, int, int]] = []
    for folder in sorted(p for p in CORPUS.glob("*/*") if p.is_dir()):
        texts, project, env = _project(folder)
        if not texts:
            continue
        samples = []
        result = None
        for _ in range(5):
            start = time.perf_counter()
            result = analyze(texts, env_text=env, project=project)
            samples.append((time.perf_counter() - start) * 1000)
        assert result is not None
        name = folder.relative_to(CORPUS).as_posix()
        timings.append((statistics.median(samples), name, len(result.services), len(result.canvas.nodes)))
    timings.sort(reverse=True)
    for ms, name, services, nodes in timings[:5]:
        print(f"  {name:45s} {services:3d} services {nodes:4d} nodes: {ms:7.1f} ms")
    total = sum(t[0] for t in timings)
    median = statistics.median(t[0] for t in timings)
    print(f"  all {len(timings)} projects: {total:.0f} ms in all, median {median:.1f} ms")


if __name__ == "__main__":
    main()
