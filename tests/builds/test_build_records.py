"""The build record's rules: a bounded log whose oldest lines give way to a marker, the names a user may
give an image, and the messages a person reads when a step fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.build_jobs import ContainerView
from app.domain.builds import BuildStage, LogSource, check_build_args, check_image_name, check_image_tag
from app.services.build_executor import failure_message
from tests.builds.test_build_scripts import a_build

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def test_the_log_keeps_the_latest_lines_after_a_marker() -> None:
    build = a_build()
    for index in range(8):
        build = build.logged([(T0 + timedelta(seconds=index), LogSource.BUILDKIT, f"line {index + 1}")], 5)
    assert [line.seq for line in build.logs] == [4, 5, 6, 7, 8]
    assert build.trimmed == 3
    shown = build.log_lines()
    assert (shown[0].seq, shown[0].source, shown[0].message) == (
        0,
        LogSource.TRELLIS,
        "… 3 earlier lines trimmed",
    )
    assert [line.message for line in shown[1:]] == [f"line {n}" for n in range(4, 9)]
    assert build.next_seq == 9
    assert a_build().log_lines() == ()


@pytest.mark.parametrize("name", ["app", "team/app", "a.b_c__d-e/f", "x" * 10 + "/" + "y" * 10])
def test_image_names_as_registries_take_them(name: str) -> None:
    assert check_image_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "Team/App", "app:v1", "app@sha256:00", "/app", "app/", "a//b", "-a", "a" * 201]
)
def test_other_image_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        check_image_name(name)


def test_tags_and_build_arguments_are_checked() -> None:
    assert check_image_tag("v1.2.0_rc-1") == "v1.2.0_rc-1"
    for tag in ("", "-x", ".x", "a" * 129, "v 1"):
        with pytest.raises(ValueError):
            check_image_tag(tag)
    assert check_build_args([("VERSION", "1.2"), ("_X", "a b\tc")]) == []
    problems = dict(check_build_args([("1A", "x"), ("B", "line\nbreak"), ("B", "y")]))
    assert set(problems) == {"[0].name", "[1].value", "[2].name"}


def test_failures_say_what_failed_and_what_to_do() -> None:
    oom = failure_message(BuildStage.BUILD, ContainerView("buildkit", "terminated", 137, "OOMKilled"), [])
    assert oom == "building the image ran out of memory (OOMKilled): raise TRELLIS_BUILD_MEMORY_LIMIT"
    push = failure_message(
        BuildStage.PUSH,
        ContainerView("buildkit", "terminated", 1, "Error"),
        ["#8 pushing layers", "ERROR: failed to push r.example/app:v1: 403 Forbidden", ""],
    )
    assert push.startswith(
        "pushing the image failed (exit code 1): ERROR: failed to push r.example/app:v1: 403"
    )
    assert push.endswith("check its credentials (testRegistry) and that they may push there")
    quiet = failure_message(
        BuildStage.DOCKERFILE,
        ContainerView("dockerfile", "terminated", 1, "Error", "there is no Dockerfile at Dockerfile"),
        [],
    )
    assert quiet == "preparing the Dockerfile failed (exit code 1): there is no Dockerfile at Dockerfile"
