"""``include`` and ``extends.file`` resolve through the project's files, with each file's relative paths
its own, as Docker Compose v2 resolves them; cycles, depth and size are bounded."""

import time

import pytest

from app.compose import ComposeAnalysis, FilesInMemory, analyze
from app.compose.merging import merge_service
from tests.compose.test_corpus_analyses_cleanly import CORPUS, project_files


def _data(result: ComposeAnalysis) -> dict[str, dict[str, object]]:
    assert result.errors == ()
    return {n.id: n.data for n in result.canvas.nodes}


def _codes(result: ComposeAnalysis) -> list[tuple[str, str | None]]:
    return [(e.code, e.field) for e in result.errors]


def _repo(files: dict[str, str]) -> FilesInMemory:
    return FilesInMemory(files, from_repository=True)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the compose corpus is not at {CORPUS}")
def test_extends_file_reads_its_env_file_next_to_itself() -> None:
    folder = CORPUS / "stacks" / "compose-go-extends"
    result = analyze([(folder / "compose-test-extends.yaml").read_text()], project=project_files(folder))
    data = _data(result)
    assert result.services == ("importer",)
    assert data["importer"]["image"] == "nginx"
    assert data["importer-config"]["data"] == {"SOURCE": "extends"}  # subdir/extra.env


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the compose corpus is not at {CORPUS}")
def test_an_included_service_extending_a_file_builds_in_the_included_folder() -> None:
    folder = CORPUS / "stacks" / "compose-go-include-extends"
    result = analyze([(folder / "compose.yaml").read_text()], project=project_files(folder))
    build = _data(result)["service"]["build"]
    assert isinstance(build, dict)
    assert build["context"] == "dir"


def test_include_short_and_long_forms_with_their_own_env_and_paths() -> None:
    main = (
        "include:\n  - db/compose.yaml\n"
        "  - path: [cache/compose.yaml, cache/override.yaml]\n    env_file: cache/cache.env\n"
        "services:\n  web:\n    image: web:${TAG:-1}\n    depends_on: [db, cache]\n"
    )
    files = {
        "db/compose.yaml": "services:\n  db:\n    image: postgres:${PG}\n    env_file: db.env\n",
        "db/.env": "PG=16\n",
        "db/db.env": "POSTGRES_DB=app\n",
        "cache/compose.yaml": "services:\n  cache:\n    image: redis:${REDIS}\n",
        "cache/override.yaml": "services:\n  cache:\n    environment: {MODE: '${MODE}'}\n",
        "cache/cache.env": "REDIS=7\nMODE=from-include\n",
    }
    result = analyze([main], project=_repo(files), values={"MODE": "from-user"})
    data = _data(result)
    assert result.services == ("web", "db", "cache")
    assert data["db"]["image"] == "postgres:16"  # db/.env, the included project's own
    assert data["db-config"]["data"] == {"POSTGRES_DB": "app"}  # db.env next to db/compose.yaml
    assert data["cache"]["image"] == "redis:7"
    assert data["cache-config"]["data"] == {"MODE": "from-user"}  # the including side's variables win


def test_include_resolves_relative_to_the_compose_folder_inside_the_project() -> None:
    main = "include: [../common/db.yaml]\nservices:\n  web: {image: web, depends_on: [db]}\n"
    files = {
        "common/db.yaml": "services:\n  db:\n    image: db\n    env_file: ./db.env\n",
        "common/db.env": "A=1\n",
    }
    data = _data(analyze([main], project=_repo(files), base_dir="deploy"))
    assert data["db-config"]["data"] == {"A": "1"}


def test_an_included_service_colliding_with_a_local_one_is_a_conflict() -> None:
    main = "include: [other.yaml]\nservices:\n  db: {image: mine}\n"
    result = analyze([main], project=_repo({"other.yaml": "services:\n  db: {image: theirs}\n"}))
    assert _codes(result) == [("INCLUDE_CONFLICT", "services.db")]
    assert result.errors[0].service == "db"
    assert "other.yaml" in result.errors[0].message
    same = analyze([main], project=_repo({"other.yaml": "services:\n  db: {image: mine}\n"}))
    assert same.errors == ()


def test_a_missing_included_file_says_how_to_supply_it() -> None:
    main = "include: [parts/db.yaml]\nservices:\n  web: {image: web}\n"
    pasted = analyze([main])
    assert _codes(pasted) == [("INCLUDE_FILE_MISSING", "include[0].path[0]")]
    assert pasted.errors[0].message == (
        "the included file 'parts/db.yaml' was not supplied: add it in projectFiles (path 'parts/db.yaml')"
    )
    cloned = analyze([main], project=_repo({}))
    assert cloned.errors[0].message == "the included file 'parts/db.yaml' is not in the repository"


@pytest.mark.parametrize(
    "path", ["/etc/compose.yaml", "../../outside.yaml", "oci://registry/app:1", "~/a.yaml"]
)
def test_includes_outside_the_project_are_refused(path: str) -> None:
    result = analyze([f"include: ['{path}']\nservices:\n  a: {{image: x}}\n"], project=_repo({}))
    assert _codes(result) == [("INCLUDE_NOT_RESOLVED", "include[0].path")]


def test_include_cycles_are_refused() -> None:
    files = {
        "a.yaml": "include: [b.yaml]\nservices:\n  a: {image: a}\n",
        "b.yaml": "include: [a.yaml]\nservices:\n  b: {image: b}\n",
    }
    result = analyze(["include: [a.yaml]\nservices:\n  main: {image: m}\n"], project=_repo(files))
    assert [e.code for e in result.errors] == ["INCLUDE_CYCLE"]
    assert "a.yaml -> b.yaml -> a.yaml" in result.errors[0].message


def test_includes_nest_at_most_ten_deep() -> None:
    files = {f"f{i}.yaml": f"include: [f{i + 1}.yaml]\nservices:\n  s{i}: {{image: x}}\n" for i in range(12)}
    result = analyze(["include: [f0.yaml]\nservices:\n  main: {image: m}\n"], project=_repo(files))
    assert [e.code for e in result.errors] == ["INCLUDE_TOO_DEEP"]


def test_included_files_share_the_size_limit_and_fan_out_is_bounded() -> None:
    big = "services:\n  big:\n    image: x\n" + f"# {'x' * 600}\n" * 1000
    result = analyze(
        ["include: [a.yaml, b.yaml]\nservices:\n  m: {image: m}\n"],
        project=_repo({"a.yaml": big, "b.yaml": big.replace("big:", "big2:")}),
        max_bytes=1_000_000,
    )
    assert [e.code for e in result.errors] == ["PROJECT_TOO_LARGE"]
    fan = "include: [" + ", ".join(["leaf.yaml"] * 10) + "]\n"
    files = {f"level{i}.yaml": fan.replace("leaf", f"level{i + 1}") for i in range(8)}
    files["level8.yaml"] = "services:\n  leaf: {image: x}\n"
    started = time.monotonic()
    bomb = analyze(["include: [level0.yaml]\nservices:\n  m: {image: m}\n"], project=_repo(files))
    assert [e.code for e in bomb.errors] == ["PROJECT_TOO_LARGE"]
    assert time.monotonic() - started < 2


def test_an_alias_bomb_in_an_included_file_is_refused_naming_it() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
    )
    result = analyze(
        ["include: [bomb.yaml]\nservices:\n  m: {image: m}\n"], project=_repo({"bomb.yaml": bomb})
    )
    assert [e.code for e in result.errors] == ["ALIAS_BOMB"]
    assert "(in 'bomb.yaml')" in result.errors[0].message


def test_extends_file_with_nested_extends_relative_to_each_file() -> None:
    main = (
        "services:\n  web:\n    extends: {file: base/web.yaml, service: web}\n    environment: {LEVEL: top}\n"
    )
    files = {
        "base/web.yaml": (
            "services:\n  web:\n    extends: {file: ../common/app.yaml, service: app}\n    image: web:2\n"
        ),
        "common/app.yaml": "services:\n  app:\n    image: app:1\n    env_file: app.env\n    environment: {LEVEL: app}\n",
        "common/app.env": "FROM_FILE=yes\n",
    }
    data = _data(analyze([main], project=_repo(files)))
    assert data["web"]["image"] == "web:2"
    assert data["web-config"]["data"] == {"FROM_FILE": "yes", "LEVEL": "top"}


def test_extends_file_problems() -> None:
    main = "services:\n  web:\n    extends: {file: base.yaml, service: web}\n"
    assert _codes(analyze([main])) == [("EXTENDS_FILE_MISSING", "services.web.extends")]
    unknown = analyze([main], project=_repo({"base.yaml": "services:\n  other: {image: x}\n"}))
    assert _codes(unknown) == [("EXTENDS_UNKNOWN_SERVICE", "services.web.extends")]
    assert "'web' in 'base.yaml'" in unknown.errors[0].message
    cycle = {
        "base.yaml": "services:\n  web:\n    extends: {file: compose.yaml, service: web}\n",
        "compose.yaml": main,
    }
    assert [e.code for e in analyze([main], project=_repo(cycle)).errors] == ["EXTENDS_CYCLE"]
    outside = analyze(["services:\n  web:\n    extends: {file: /base.yaml, service: web}\n"])
    assert _codes(outside) == [("EXTENDS_FILE_NOT_RESOLVED", "services.web.extends")]


def test_same_file_extends_keeps_working_and_keeps_dependencies() -> None:
    text = (
        "services:\n  base:\n    image: x\n    environment: {A: '1'}\n    depends_on: [db]\n"
        "  child:\n    extends: base\n    environment: {B: '2'}\n  db: {image: d}\n"
    )
    result = analyze([text])
    data = _data(result)
    assert data["child-config"]["data"] == {"A": "1", "B": "2"}
    assert ("db", "child") in {(e.source, e.target) for e in result.canvas.edges}


def test_extends_chains_are_bounded() -> None:
    services = "".join(f"  s{i}:\n    extends: s{i + 1}\n" for i in range(12)) + "  s12: {image: x}\n"
    result = analyze([f"services:\n{services}"])
    assert "EXTENDS_TOO_DEEP" in [e.code for e in result.errors]
    loop = analyze(["services:\n  a: {extends: b}\n  b: {extends: a}\n"])
    assert {e.code for e in loop.errors} == {"EXTENDS_CYCLE"}


def test_project_paths_are_normalised() -> None:
    project = FilesInMemory({"./env/../app.env": "A=1\n", "/etc/passwd": "x"})
    assert project.read("app.env") == "A=1\n"
    assert not project.exists("etc/passwd")


def test_extends_and_overrides_merge_by_the_compose_rules() -> None:
    base = {"build": ".", "env_file": "a.env", "profiles": ["x"], "depends_on": ["db"], "command": ["a"]}
    override = {
        "build": {"dockerfile": "Dockerfile.dev"},
        "env_file": ["b.env", {"path": "a.env", "required": False}],
        "profiles": ["y", "x"],
        "depends_on": {"cache": {"condition": "service_healthy"}},
        "command": ["b"],
    }
    assert merge_service(base, override) == {
        "build": {"context": ".", "dockerfile": "Dockerfile.dev"},
        "env_file": [{"path": "a.env", "required": False}, "b.env"],
        "profiles": ["x", "y"],
        "depends_on": {
            "db": {"condition": "service_started", "required": True},
            "cache": {"condition": "service_healthy", "required": True},
        },
        "command": ["b"],
    }
