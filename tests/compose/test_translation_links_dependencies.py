"""``depends_on`` becomes dependency edges from the dependency's workload to the dependent's, with the
condition as sourceHandle (short form: started); services awaited to complete become Jobs."""

from tests.compose.translated import rendered, translated

STACK = """
services:
  db:
    image: postgres:16
    healthcheck: {test: [CMD, pg_isready]}
  cache:
    image: redis:7
  migrate:
    image: app
    command: migrate
    depends_on:
      db: {condition: service_healthy}
  web:
    image: app
    ports: ["80:8000"]
    depends_on:
      migrate: {condition: service_completed_successfully}
      cache: {condition: service_healthy, restart: true}
      search: {condition: service_started, required: false}
  worker:
    image: app
    restart: always
    depends_on: [db, cache]
"""


def test_each_dependency_is_an_edge_with_its_condition() -> None:
    result = translated(STACK)
    dependencies = {e for e in result.edges() if e[2] is not None}
    assert dependencies == {
        ("db", "migrate", "healthy", None),
        ("migrate", "web", "completed", None),
        ("cache", "web", "healthy", None),
        ("db", "worker", "started", None),
        ("cache", "worker", "started", None),
    }


def test_a_service_awaited_to_complete_is_a_job() -> None:
    result = translated(STACK)
    kinds = {n.id: n.kind for n in result.canvas.nodes}
    assert kinds["migrate"] == "Job"
    assert result.data("migrate")["restartPolicy"] == "Never"
    assert kinds["worker"] == "Deployment"
    rendered(result.canvas, result.secret_values)


def test_conditions_that_cannot_hold_are_warned() -> None:
    result = translated(STACK)
    assert {(w.code, w.service, w.field) for w in result.warnings} == {
        ("DEPENDENCY_HAS_NO_HEALTHCHECK", "web", "services.web.depends_on.cache"),
        ("DEPENDS_ON_RESTART_NOT_TRANSLATED", "web", "services.web.depends_on.cache.restart"),
        ("PORTS_INFERRED", "db", "services.db"),  # waited for, no ports: their images' usual ports
        ("PORTS_INFERRED", "cache", "services.cache"),
    }  # search is optional (required: false), so its absence is fine


def test_completion_of_a_long_running_service_is_not_awaited() -> None:
    text = (
        "services:\n  seed:\n    image: x\n    restart: always\n    healthcheck: {test: 'true'}\n"
        "  app:\n    image: y\n    depends_on: {seed: {condition: service_completed_successfully}}\n"
    )
    result = translated(text)
    assert ("seed", "app", "healthy", None) in result.edges()
    assert result.node("seed").kind == "Deployment"
    assert result.codes() == ["DEPENDENCY_NEVER_COMPLETES"]


def test_unknown_dependencies_and_conditions_are_warned() -> None:
    text = "services:\n  a:\n    image: x\n    depends_on: {ghost: {condition: service_started}, b: {condition: soon}}\n  b:\n    image: y\n"
    result = translated(text)
    assert ("b", "a", "started", None) in result.edges()
    assert set(result.codes()) == {"DEPENDS_ON_UNKNOWN", "DEPENDS_ON_CONDITION_UNKNOWN"}


def test_an_awaited_service_restarting_on_failure_is_a_job_retried_in_place() -> None:
    text = (
        "services:\n  seed:\n    image: x\n    restart: on-failure:3\n"
        "  app:\n    image: y\n    depends_on: {seed: {condition: service_completed_successfully}}\n"
    )
    result = translated(text)
    assert result.node("seed").kind == "Job"
    assert result.data("seed")["restartPolicy"] == "OnFailure"
    assert result.data("seed")["backoffLimit"] == 3
    assert result.edges() == {("seed", "app", "completed", None)}
    assert result.warnings == ()
