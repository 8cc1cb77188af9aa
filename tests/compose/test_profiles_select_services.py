"""Profiles choose which services are imported, as ``docker compose --profile`` (or
``COMPOSE_PROFILES``) does."""

from typing import Any

import pytest

from app.compose import analyze

TEXT = """
services:
  web:
    image: web
  debug:
    image: busybox
    profiles: [debug]
  metrics:
    image: prom
    profiles: [monitoring, all]
"""


def _workloads(**kwargs: Any) -> set[str]:
    result = analyze([TEXT], **kwargs)
    assert result.errors == ()
    assert set(result.services) == {n.id for n in result.canvas.nodes}
    return set(result.services)


@pytest.mark.parametrize(
    ("profiles", "expected"),
    [
        (None, {"web"}),
        (["debug"], {"web", "debug"}),
        (["all"], {"web", "metrics"}),
        (["debug", "monitoring"], {"web", "debug", "metrics"}),
        (["*"], {"web", "debug", "metrics"}),
        (["unknown"], {"web"}),
    ],
)
def test_services_with_profiles_are_in_only_when_one_is_enabled(
    profiles: list[str] | None, expected: set[str]
) -> None:
    assert _workloads(profiles=profiles) == expected


def test_compose_profiles_from_env_or_values_apply_when_none_are_asked() -> None:
    assert _workloads(env_text="COMPOSE_PROFILES=debug, monitoring\n") == {"web", "debug", "metrics"}
    assert _workloads(values={"COMPOSE_PROFILES": "all"}) == {"web", "metrics"}
    assert _workloads(env_text="COMPOSE_PROFILES=all\n", profiles=["debug"]) == {"web", "debug"}


def test_left_out_services_are_warned() -> None:
    result = analyze([TEXT], profiles=["debug"])
    assert [(w.code, w.service, w.field) for w in result.warnings] == [
        ("PROFILE_DISABLED", "metrics", "services.metrics.profiles")
    ]
    assert "monitoring, all" in result.warnings[0].message


def test_depending_on_a_left_out_service_is_an_error_as_in_compose() -> None:
    text = (
        "services:\n  web:\n    image: web\n    depends_on: [db]\n  db:\n    image: pg\n    profiles: [db]\n"
    )
    result = analyze([text])
    assert [(e.code, e.service, e.field) for e in result.errors] == [
        ("PROFILE_DEPENDENCY_DISABLED", "web", "services.web.depends_on")
    ]
    assert "enable one of them in profiles" in result.errors[0].message
    assert result.canvas.nodes == ()
    assert analyze([text], profiles=["db"]).errors == ()


def test_a_dependency_that_is_not_required_is_dropped_with_its_service() -> None:
    text = (
        "services:\n  web:\n    image: web\n"
        "    depends_on: {db: {condition: service_started, required: false}}\n"
        "  db:\n    image: pg\n    profiles: [db]\n"
    )
    result = analyze([text])
    assert result.errors == ()
    assert result.services == ("web",)
    assert ("DEPENDS_ON_DISABLED", "services.web.depends_on.db") in [
        (w.code, w.field) for w in result.warnings
    ]


def test_no_service_left_is_an_error() -> None:
    result = analyze(["services:\n  a: {image: x, profiles: [p]}\n"])
    assert [e.code for e in result.errors] == ["NO_SERVICES"]
