"""A service's ``build`` becomes the workload's build configuration (for the Build feature), never part of
its manifests; without an image the workload gets a suggested one and a warning that it must be built."""

from app.compose.problems import Problems
from app.compose.translating import translate
from tests.compose.translated import manifest, rendered, translated

LONG = """
services:
  api:
    image: ghcr.io/acme/api:2
    build:
      context: ./backend/../api
      dockerfile: docker/Dockerfile.prod
      target: runtime
      args: {VERSION: "2", DEBUG: false, FROM_ENV: null, MISSING: null}
      cache_from: [x]
      ssh: [default]
"""


def test_long_syntax_keeps_context_dockerfile_target_and_args() -> None:
    result = translated(LONG, base_dir="deploy", variables={"FROM_ENV": "yes"})
    api = result.data("api")
    assert api["image"] == "ghcr.io/acme/api:2"
    assert api["build"] == {
        "context": "deploy/api",
        "dockerfile": "docker/Dockerfile.prod",
        "target": "runtime",
        "args": {"VERSION": "2", "DEBUG": "false", "FROM_ENV": "yes"},
        "useNixpacks": False,
    }
    assert result.codes() == ["BUILD_OPTION_NOT_TRANSLATED", "BUILD_REQUIRED"]
    assert "cache_from, ssh" in result.warning("BUILD_OPTION_NOT_TRANSLATED").message
    assert "build ghcr.io/acme/api:2" in result.warning("BUILD_REQUIRED").message


def test_short_syntax_without_image_gets_a_suggested_image() -> None:
    result = translated("services:\n  My_Web:\n    build: .\n")
    web = result.data("my-web")
    assert web["image"] == "my-web:latest"
    assert web["build"] == {"context": "", "dockerfile": "Dockerfile", "args": {}, "useNixpacks": False}
    warning = result.warning("BUILD_WITHOUT_IMAGE")
    assert (warning.service, warning.field) == ("My_Web", "services.My_Web.build")
    assert "my-web:latest" in warning.message
    assert "before deploying" in warning.message


def test_the_build_configuration_is_not_rendered() -> None:
    result = translated(LONG)
    obj = manifest(rendered(result.canvas, result.secret_values), "api")
    assert "Dockerfile" not in repr(obj)
    assert "runtime" not in repr(obj)


def test_contexts_that_cannot_be_built_from_the_project_are_warned() -> None:
    cases = {
        "https://github.com/acme/api.git#main": "BUILD_CONTEXT_REMOTE",
        "../elsewhere": "BUILD_CONTEXT_OUTSIDE",
        "/abs/path": "BUILD_CONTEXT_OUTSIDE",
    }
    for context, code in cases.items():
        result = translated(f"services:\n  a:\n    build: {{context: '{context}'}}\n")
        assert "build" not in result.data("a"), context
        assert result.data("a")["image"] == "a:latest"
        assert result.codes()[0] == code, context


def test_a_dockerfile_outside_the_project_falls_back_and_inline_ones_are_warned() -> None:
    text = (
        "services:\n  a:\n    image: a\n    build:\n      context: app\n      dockerfile: ../../../x\n"
        "  b:\n    image: b\n    build:\n      dockerfile_inline: FROM alpine\n"
    )
    result = translated(text)
    assert result.data("a")["build"]["dockerfile"] == "Dockerfile"
    assert result.data("b")["build"]["dockerfile"] == "Dockerfile"
    assert {"BUILD_DOCKERFILE_OUTSIDE", "BUILD_INLINE_DOCKERFILE"} <= set(result.codes())


def test_a_repository_without_the_context_folder_is_warned() -> None:
    text = "services:\n  a:\n    build: ./api\n  b:\n    build: ./web\n"
    result = translated(text, {"web/Dockerfile": "FROM x"}, repository=True)
    missing = [w for w in result.warnings if w.code == "BUILD_CONTEXT_MISSING"]
    assert [(w.service, w.field) for w in missing] == [("a", "services.a.build.context")]
    assert result.data("b")["build"]["context"] == "web"


def test_the_translation_itself_never_fails_on_build() -> None:
    problems = Problems()
    out = translate(
        {"a": {"build": {"context": 3, "args": ["=x", "A"]}}},
        {},
        {},
        problems,
        namespace=None,
        service_type="ClusterIP",
    )
    assert problems.errors == []
    assert out.nodes[0].data["build"]["args"] == {}
