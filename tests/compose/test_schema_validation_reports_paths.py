"""Compose files are checked against the published compose-spec schema; each error names its path, its
service and says what to change."""

import time
from pathlib import Path

import pytest

from app.compose import analyze
from app.compose.interpolation import interpolate_tree, parse_env_text
from app.compose.loading import load_yaml
from app.compose.problems import Problems
from app.compose.validating import MAX_SCHEMA_ERRORS, validate

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "compose"


def _errors(text: str) -> list[tuple[str, str | None, str | None, str]]:
    result = analyze([text])
    assert result.canvas.nodes == ()
    return [(e.code, e.service, e.field, e.message) for e in result.errors]


def test_an_unknown_service_key_is_an_error_with_a_suggestion() -> None:
    assert _errors("services:\n  web:\n    image: nginx\n    enviroment: {A: '1'}\n") == [
        (
            "SCHEMA_INVALID",
            "web",
            "services.web.enviroment",
            "services.web has the unknown key 'enviroment' (did you mean 'environment'?)",
        )
    ]


def test_a_wrong_type_names_the_types_allowed() -> None:
    assert _errors("services:\n  web:\n    image: nginx\n    ports: [true]\n") == [
        (
            "SCHEMA_INVALID",
            "web",
            "services.web.ports[0]",
            "services.web.ports[0] must be a mapping, number or string, not True",
        )
    ]


def test_the_most_specific_error_of_a_long_form_is_reported() -> None:
    text = "services:\n  web:\n    image: nginx\n    ports: [{target: 80, publish: 8080}]\n    depends_on: {db: {}}\n  db:\n    image: x\n"
    assert [(code, service, path) for code, service, path, _ in _errors(text)] == [
        ("SCHEMA_INVALID", "web", "services.web.depends_on.db"),
        ("SCHEMA_INVALID", "web", "services.web.ports[0].publish"),
    ]
    assert "needs the key 'condition'" in _errors(text)[0][3]


def test_enum_and_names_say_what_is_allowed() -> None:
    text = (
        "services:\n  web:\n    image: x\n    depends_on: {db: {condition: service_ready}}\n  db: {image: y}\n"
        "volumes:\n  bad name: {}\n"
    )
    messages = {path: message for _, _, path, message in _errors(text)}
    assert messages["services.web.depends_on.db.condition"].startswith(
        "services.web.depends_on.db.condition must be one of service_started, service_healthy"
    )
    assert messages["volumes.bad name"] == (
        "'bad name' is not a valid name in volumes: use letters, digits, '.', '_' and '-'"
    )


def test_unknown_top_level_keys_are_errors_but_extension_keys_are_not() -> None:
    assert _errors("servics: {}\nx-anchors: {a: 1}\nservices:\n  a: {image: x}\n") == [
        (
            "UNKNOWN_TOP_LEVEL_KEY",
            None,
            "servics",
            "unknown top-level key 'servics' (did you mean 'services'?)",
        )
    ]


def test_extension_keys_are_allowed_where_the_spec_allows_them_and_dropped() -> None:
    result = analyze(
        ["services:\n  a:\n    image: x\n    x-note: kept out\n    ports: [{target: 80, x-why: y}]\n"]
    )
    assert result.errors == ()
    assert "FIELD_NOT_TRANSLATED" not in [w.code for w in result.warnings]


def test_extension_keys_are_refused_where_the_spec_refuses_them() -> None:
    text = "services:\n  a:\n    image: x\n    env_file: [{path: a.env, x-why: 1}]\n    extends: {service: b, x-c: 1}\n"
    assert [(code, path) for code, _, path, _ in _errors(text)] == [
        ("SCHEMA_INVALID", "services.a.env_file[0].x-why"),
        ("SCHEMA_INVALID", "services.a.extends.x-c"),
    ]


def test_non_string_keys_are_refused_as_compose_refuses_them() -> None:
    assert _errors("services:\n  a:\n    image: x\n    labels: {1: one}\n") == [
        (
            "SCHEMA_INVALID",
            "a",
            "services.a.labels.1",
            "the key 1 in services.a.labels is not a string: quote it ('1')",
        )
    ]


def test_errors_name_the_file_when_there_are_several() -> None:
    result = analyze(["services:\n  a: {image: x}\n", "services:\n  a: {image: 5}\n"])
    assert [(e.field, e.message) for e in result.errors] == [
        ("services.a.image", "services.a.image must be a string, not 5 (in compose file 2)")
    ]


def test_validation_happens_after_interpolation() -> None:
    text = "services:\n  a:\n    image: x\n    deploy: {replicas: '${N}'}\n    privileged: '${P}'\n"
    assert analyze([text], values={"N": "2", "P": "false"}).errors == ()
    assert [e.code for e in analyze([text], values={"N": "two", "P": "false"}).errors] == [
        "INTERPOLATION_FAILED"
    ]


def test_schema_errors_are_capped() -> None:
    services = "".join(f"  s{i}:\n    image: x\n    bogus: 1\n" for i in range(MAX_SCHEMA_ERRORS + 10))
    errors = analyze([f"services:\n{services}"]).errors
    assert len(errors) == MAX_SCHEMA_ERRORS + 1
    assert errors[-1].message == "more schema errors were found: fix the ones above first"


def test_the_version_key_is_accepted_and_warned_obsolete() -> None:
    result = analyze(["version: '3.8'\nservices:\n  a: {image: x}\n"])
    assert result.errors == ()
    assert [(w.code, w.field) for w in result.warnings] == [("VERSION_OBSOLETE", "version")]


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the compose corpus is not at {CORPUS}")
def test_the_biggest_corpus_file_validates_fast() -> None:
    folder = CORPUS / "stacks" / "sentry-self-hosted"
    document = interpolate_tree(
        load_yaml((folder / "docker-compose.yml").read_text()), parse_env_text((folder / ".env").read_text())
    )
    validate(document, "", Problems())  # the validator is built once
    started = time.perf_counter()
    problems = Problems()
    assert validate(document, "", problems)
    assert problems.errors == []
    assert time.perf_counter() - started < 0.5
