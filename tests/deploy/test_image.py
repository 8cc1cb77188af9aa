"""The container image: the Dockerfile's properties (no Docker daemon runs here, so it is parsed, not
built) and the wheel it installs, built and installed for real: templates, GraphiQL and the compose
schema come with it and the installed package finds its templates outside a checkout."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_TOOLS = ("gcc", "g++", "make", "build-essential", "nodejs", "npm", "curl", "wget", "python3-dev")


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARGs and the stages of a Dockerfile: line continuations joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = rest.split()
            image = words[0]
            for name, value in args.items():
                image = image.replace("${" + name + "}", value)
            stages.append(Stage(image, words[2] if len(words) == 3 and words[1].upper() == "AS" else None))
        else:
            stages[-1].instructions.append((keyword, rest.strip()))
    return args, stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse((ROOT / "Dockerfile").read_text())[1]


def test_there_is_no_docker_daemon_here_so_the_dockerfile_is_checked_by_parsing() -> None:
    docker = shutil.which("docker")
    if docker is not None:
        daemon = subprocess.run([docker, "info"], capture_output=True, timeout=20)
        assert daemon.returncode != 0, "a Docker daemon answers: build the image in a test instead"


def test_builder_stages_make_the_assets_and_the_wheel(stages: list[Stage]) -> None:
    graphiql, build, final = stages
    assert graphiql.image.startswith("node:20-") and graphiql.name == "graphiql"
    assert any("scripts/build-graphiql" in run for run in graphiql.all("RUN"))
    assert build.name == "build" and build.image == final.image
    copied = " ".join(build.all("COPY"))
    for source in ("pyproject.toml", "app/", "schema/", "templates/", "--from=graphiql"):
        assert source in copied
    run = " ".join(build.all("RUN"))
    assert "pip wheel" in run and "/opt/trellis/bin/pip install /dist/trellis-" in run


def test_the_final_image_is_small_non_root_and_has_no_build_tools(stages: list[Stage]) -> None:
    final = stages[-1]
    assert final.name is None
    assert final.image.startswith("python:3.11-slim")
    copies = final.all("COPY")
    assert copies == ["--from=build /opt/trellis /opt/trellis"]  # the installed package only
    (install,) = final.all("RUN")
    apt = shlex.split(install.split("apt-get install", 1)[1].split("&&", 1)[0])
    assert apt == ["-y", "--no-install-recommends", "git", "openssh-client", "ca-certificates"]
    assert "rm -rf /var/lib/apt/lists/*" in install
    assert "pip uninstall -y pip setuptools" in install
    everything = " ".join(args for _, args in final.instructions)
    for tool in BUILD_TOOLS:
        assert f" {tool} " not in f" {everything} ", tool
    (user,) = final.all("USER")
    uid, _, gid = user.partition(":")
    assert (
        uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0
    )  # numeric: runAsNonRoot can check
    keywords = [kw for kw, _ in final.instructions]
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    assert "PYTHONDONTWRITEBYTECODE=1" in " ".join(final.all("ENV"))


def test_the_healthcheck_and_the_command_run_trellis_serve(stages: list[Stage]) -> None:
    final = stages[-1]
    (health,) = final.all("HEALTHCHECK")
    options, _, command = health.partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"] and "curl" not in command
    assert "urllib.request.urlopen" in argv[2] and "/healthz" in argv[2]
    compile(argv[2], "<healthcheck>", "exec")  # valid Python
    entrypoint = json.loads(final.all("ENTRYPOINT")[0])
    cmd = json.loads(final.all("CMD")[0])
    assert entrypoint + cmd == ["trellis", "serve"]
    env = " ".join(final.all("ENV"))
    assert "TRELLIS_HOST=0.0.0.0" in env and "TRELLIS_PORT=8000" in env
    assert final.all("EXPOSE") == ["8000"]


def test_the_build_context_leaves_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".venv", "**/node_modules", ".git", "data"):
        assert entry in ignored


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built from a copy of what the Dockerfile copies (the tree stays untouched)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "node_modules", "*.pyc")
    for folder in ("app", "schema", "templates"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            ".",
        ],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = dist.glob("trellis-*.whl")
    return built


def test_the_wheel_carries_templates_graphiql_the_compose_schema_and_the_sdl(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    templates = sorted(path.name for path in (ROOT / "templates").glob("*.j2"))
    shipped = sorted(n.rsplit("/", 1)[1] for n in names if "/data/share/trellis/templates/" in n)
    assert shipped == templates
    assert "app/compose/spec/compose-spec.json" in names or any(
        n.startswith("app/compose/spec/") for n in names
    )
    assert "schema/schema.graphql" in names
    if (ROOT / "app/http/static/graphiql/manifest.json").exists():
        assert "app/http/static/graphiql/manifest.json" in names
    assert not any(n.startswith(("tests/", "templates/")) for n in names)


def test_the_installed_package_finds_its_templates_outside_a_checkout(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The dependencies come from the project's environment (a path, so its editable finder stays out).
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    probe = (
        "import app, json; from app.rendering import default_templates_dir; "
        "print(json.dumps([app.__file__, str(default_templates_dir())]))"
    )
    done = subprocess.run(
        [python, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert done.returncode == 0, done.stderr
    package, templates = json.loads(done.stdout)
    assert Path(package).is_relative_to(site)  # the wheel's copy, not this checkout
    assert Path(templates) == venv / "share" / "trellis" / "templates"
    assert sorted(p.name for p in Path(templates).glob("*.j2")) == sorted(
        p.name for p in (ROOT / "templates").glob("*.j2")
    )
