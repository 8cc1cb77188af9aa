"""Run every benchmark: `make bench` (or `.venv/bin/python -m bench.run`)."""

from __future__ import annotations

from bench import api_saves, canvas_checks, compose_analysis, flow_engine


def main() -> None:
    canvas_checks.main()
    api_saves.main()
    compose_analysis.main()
    flow_engine.main()


if __name__ == "__main__":
    main()
