"""A service that declares no ports but that others reach by name gets a Service on the ports the project
tells (a Dockerfile's EXPOSE, a ``name:port`` another service writes, the image's usual port)."""

from textwrap import dedent

from app.compose import ComposeAnalysis, FilesInMemory, analyze


def _services(result: ComposeAnalysis) -> dict[str, int]:
    return {n.data["name"]: n.data["port"] for n in result.canvas.nodes if n.kind == "Service"}


def _warned(result: ComposeAnalysis) -> dict[str, str]:
    return {w.service or "": w.message for w in result.warnings if w.code == "PORTS_INFERRED"}


def test_an_address_written_by_another_service_gives_the_port() -> None:
    compose = dedent(
        """
        services:
          web:
            image: nginx
            environment: [API_URL=http://api:9091/v1]
          api:
            image: example/api
        """
    )
    result = analyze([compose])
    assert result.errors == ()
    assert _services(result) == {"api": 9091}
    assert "web reaches it at api:9091" in _warned(result)["api"]


def test_a_mounted_file_and_a_dockerfile_tell_the_port() -> None:
    compose = dedent(
        """
        services:
          proxy:
            image: nginx
            volumes: [./proxy/site.conf:/etc/nginx/conf.d/default.conf:ro]
            depends_on: [backend, worker]
          backend:
            build: ./backend
          worker:
            build: ./worker
        """
    )
    files = {
        "proxy/site.conf": "location / { proxy_pass http://backend:8000; }\n",
        "backend/Dockerfile": "FROM python:3.12\nEXPOSE 7000\n",
        "worker/Dockerfile": "FROM python:3.12\nEXPOSE 5000/tcp 5001\n",
    }
    result = analyze([compose], project=FilesInMemory(files, from_repository=True))
    assert result.errors == ()
    # what the proxy really calls wins over the Dockerfile; the worker is only waited for: its EXPOSE
    assert _services(result) == {"backend": 8000, "worker": 5000}
    assert "EXPOSE in worker/Dockerfile" in _warned(result)["worker"]


def test_a_well_known_image_waited_for_gets_its_usual_port() -> None:
    compose = dedent(
        """
        services:
          app:
            image: example/app
            environment: {DATABASE_URL: "postgres://app@db/app", CACHE_HOST: cache}
            depends_on: {db: {condition: service_healthy}}
          db:
            image: postgres:16
            healthcheck: {test: pg_isready}
          cache:
            image: redis:7
        """
    )
    result = analyze([compose])
    assert _services(result) == {"db": 5432, "cache": 6379}


def test_an_unknown_port_is_warned_and_one_shot_services_get_no_service() -> None:
    compose = dedent(
        """
        services:
          app:
            image: example/app
            environment: {SEARCH_HOST: search, REPORTS: "mysearch:1234 db.search:99"}
            depends_on: {migrate: {condition: service_completed_successfully}}
          search:
            image: example/search
          migrate:
            image: example/app
            command: migrate
        """
    )
    result = analyze([compose])
    assert result.errors == ()
    assert _services(result) == {}
    codes = {(w.code, w.service) for w in result.warnings}
    assert ("SERVICE_NOT_REACHABLE", "search") in codes
    assert {code for code, service in codes if service == "migrate"} == set()
