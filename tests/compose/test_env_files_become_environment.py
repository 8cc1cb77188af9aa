"""``env_file`` is read through the project's files and merged into the service's environment as Docker
Compose v2 merges it; a missing file is reported by how the project came."""

from app.compose import ComposeAnalysis, FilesInMemory, analyze
from app.compose.env_files import apply_env_files
from app.compose.problems import Problems


def _env(result: ComposeAnalysis, service: str = "a") -> dict[str, str]:
    assert result.errors == ()
    config = {n.id: n.data for n in result.canvas.nodes}.get(f"{service}-config", {"data": {}})
    secret = result.secret_values.get(f"{service}-secret", {})
    return {**config["data"], **secret}


def test_later_files_win_and_environment_wins_over_them_all() -> None:
    text = (
        "services:\n  a:\n    image: x\n    env_file: [common.env, {path: local.env, required: true}]\n"
        "    environment: {MODE: explicit}\n"
    )
    files = {"common.env": "MODE=common\nLEVEL=common\nONLY=common\n", "local.env": "LEVEL=local\n"}
    assert _env(analyze([text], project=FilesInMemory(files))) == {
        "MODE": "explicit",
        "LEVEL": "local",
        "ONLY": "common",
    }


def test_env_file_values_are_interpolated_from_the_project_then_the_service() -> None:
    text = (
        "services:\n  a:\n    image: x\n    env_file: app.env\n    environment: [OWN=mine]\n"
        "    command: echo ${IN_FILE:-not-from-the-env-file}\n"
    )
    files = {
        "app.env": "URL=http://${HOST}:${PORT:-80}/${OWN}\nIN_FILE=1\nNEXT=${IN_FILE}-2\nPASSWORD='lit$ral'\n"
    }
    result = analyze([text], project=FilesInMemory(files), env_text="HOST=db\n")
    assert _env(result) == {
        "URL": "http://db:80/mine",
        "IN_FILE": "1",
        "NEXT": "1-2",
        "OWN": "mine",
        "PASSWORD": "lit$ral",
    }
    workload = next(n for n in result.canvas.nodes if n.id == "a").data
    assert workload["args"] == ["echo", "not-from-the-env-file"]  # env files never feed the compose file


def test_env_file_paths_are_relative_to_the_compose_folder() -> None:
    text = "services:\n  a:\n    image: x\n    env_file: ../config/a.env\n"
    project = FilesInMemory({"config/a.env": "A=1\n"}, from_repository=True)
    assert _env(analyze([text], project=project, base_dir="deploy")) == {"A": "1"}


def test_raw_format_takes_values_literally() -> None:
    text = "services:\n  a:\n    image: x\n    env_file: [{path: a.env, format: raw}]\n"
    files = {"a.env": "QUOTED='kept'\nDOLLAR=${NOT_EXPANDED}\n"}
    assert _env(analyze([text], project=FilesInMemory(files))) == {
        "QUOTED": "'kept'",
        "DOLLAR": "${NOT_EXPANDED}",
    }


def test_missing_files_are_reported_by_how_the_project_came() -> None:
    text = "services:\n  a:\n    image: x\n    env_file: [app.env, {path: optional.env, required: false}]\n"
    pasted = analyze([text])
    assert pasted.errors == ()
    assert [(w.code, w.service, w.field) for w in pasted.warnings] == [
        ("ENV_FILE_NOT_RESOLVED", "a", "services.a.env_file[0]")
    ]
    assert "add it in projectFiles" in pasted.warnings[0].message
    cloned = analyze([text], project=FilesInMemory({}, from_repository=True))
    assert [(e.code, e.service, e.field) for e in cloned.errors] == [
        ("ENV_FILE_MISSING", "a", "services.a.env_file[0]")
    ]
    assert cloned.errors[0].message == (
        "the env_file 'app.env' is not in the repository: add it, or mark it required: false in the compose file"
    )
    present = analyze([text], project=FilesInMemory({"app.env": "A=1\n"}, from_repository=True))
    assert _env(present) == {"A": "1"}
    assert [w.code for w in present.warnings] == []


def test_files_compose_refuses_are_errors() -> None:
    text = "services:\n  a:\n    image: x\n    env_file: [bad.env, {path: b.env, format: toml}]\n"
    result = analyze([text], project=FilesInMemory({"bad.env": "A=1\nB C=2\n", "b.env": ""}))
    assert [(e.code, e.field) for e in result.errors] == [
        ("ENV_FILE_INVALID", "services.a.env_file[0]"),
        ("ENV_FILE_FORMAT_UNSUPPORTED", "services.a.env_file[1].format"),
    ]
    assert "line 2" in result.errors[0].message


def test_env_file_is_consumed_before_translation() -> None:
    services = {"a": {"image": "x", "env_file": ["a.env"]}, "b": {"image": "y"}}
    problems = Problems()
    out = apply_env_files(services, FilesInMemory({"a.env": "A=1\n"}), "", {}, problems)
    assert out == {"a": {"image": "x", "environment": {"A": "1"}}, "b": {"image": "y"}}
    assert problems.warnings == problems.errors == []


def test_env_files_of_services_left_out_by_profiles_are_not_read() -> None:
    text = "services:\n  a: {image: x}\n  b: {image: y, profiles: [p], env_file: missing.env}\n"
    result = analyze([text], project=FilesInMemory({}, from_repository=True))
    assert result.errors == ()
