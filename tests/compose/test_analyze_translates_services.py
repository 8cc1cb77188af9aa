from textwrap import dedent

from app.compose import ComposeAnalysis, analyze
from app.domain.canvas_check import check_canvas

WEB_DB = dedent(
    """
    x-common: &common
      restart: always
    services:
      web:
        <<: *common
        image: nginx:${TAG:-1.27}
        ports: ["127.0.0.1:8080:80", "443:443/tcp"]
        environment:
          LOG_LEVEL: info
          API_TOKEN: s3cret
        command: nginx -g 'daemon off;'
        depends_on: [db]
      db:
        image: postgres:16
        volumes: ["data:/var/lib/postgresql/data"]
        environment: ["POSTGRES_PASSWORD=pw", "POSTGRES_DB=app"]
        healthcheck:
          test: ["CMD-SHELL", "pg_isready"]
          interval: 10s
          timeout: 5s
          retries: 5
          start_period: 1m
        deploy:
          resources:
            limits: {cpus: "0.5", memory: 1.5G}
            reservations: {memory: 256M}
        user: "999:999"
        cap_drop: [ALL]
        read_only: true
    volumes:
      data: {}
    """
)


def _kinds(result: ComposeAnalysis) -> set[tuple[str, str]]:
    return {(n.id, n.kind) for n in result.canvas.nodes}


def test_web_and_database_become_exact_nodes_and_edges() -> None:
    result = analyze([WEB_DB], namespace="shop", service_type="NodePort")
    assert result.errors == ()
    assert result.services == ("web", "db")
    assert result.volumes == ("data",)
    assert _kinds(result) == {
        ("web", "Deployment"),
        ("web-svc", "Service"),
        ("web-config", "ConfigMap"),
        ("web-secret", "Secret"),
        ("db", "StatefulSet"),
        ("db-svc", "Service"),  # web depends on it and names no port: postgres' usual port
        ("db-config", "ConfigMap"),
        ("db-secret", "Secret"),
        ("pvc-data", "PersistentVolumeClaim"),
    }
    assert {(e.source, e.target, e.target_handle) for e in result.canvas.edges} == {
        ("web-svc", "web", None),
        ("db-svc", "db", None),
        ("web-config", "web", "env"),
        ("web-secret", "web", "env"),
        ("db-config", "db", "env"),
        ("db-secret", "db", "env"),
        ("pvc-data", "db", None),
        ("db", "web", None),  # depends_on: web starts after db
    }
    assert check_canvas(result.canvas).errors == ()
    by_id = {n.id: n for n in result.canvas.nodes}
    web, svc, db = by_id["web"].data, by_id["web-svc"].data, by_id["db"].data
    assert web["image"] == "nginx:1.27"
    assert web["args"] == ["nginx", "-g", "daemon off;"]
    assert web["namespace"] == "shop"
    assert svc["serviceType"] == "NodePort"
    assert [(p["port"], p["protocol"]) for p in svc["ports"]] == [(80, "TCP"), (443, "TCP")]
    assert by_id["web-config"].data["data"] == {"LOG_LEVEL": "info"}
    assert by_id["web-secret"].data["keys"] == [{"id": "key-1", "name": "API_TOKEN"}]
    assert "s3cret" not in repr(result.canvas)
    assert result.secret_values == {
        "web-secret": {"API_TOKEN": "s3cret"},
        "db-secret": {"POSTGRES_PASSWORD": "pw"},
    }
    probe = db["livenessProbe"]
    assert probe == {
        "type": "exec",
        "command": ["sh", "-c", "pg_isready"],
        "periodSeconds": 10,
        "timeoutSeconds": 5,
        "initialDelaySeconds": 60,
        "failureThreshold": 5,
    }
    assert db["readinessProbe"] == probe
    assert db["resources"] == {"limits": {"cpu": "500m", "memory": "1536Mi"}, "requests": {"memory": "256Mi"}}
    assert db["securityContext"] == {
        "runAsUser": 999,
        "runAsGroup": 999,
        "capabilitiesDrop": ["ALL"],
        "readOnlyRootFilesystem": True,
    }
    assert db["volumeMounts"][0]["mountPath"] == "/var/lib/postgresql/data"
    assert by_id["pvc-data"].position.x == 1000
    assert by_id["web-config"].position.x == 100
    assert by_id["web-svc"].position.x == 400
    assert by_id["web"].position == by_id["web"].position.__class__(700, by_id["web-svc"].position.y)
    assert next(e for e in result.canvas.edges if e.source == "db").source_handle == "started"


def test_one_shot_service_becomes_a_job_with_entrypoint_and_privileged_warned() -> None:
    text = "services:\n  migrate:\n    image: app\n    restart: no\n    entrypoint: [/bin/migrate]\n    privileged: true\n"
    result = analyze([text])
    assert _kinds(result) == {("migrate", "Job")}
    job = result.canvas.nodes[0].data
    assert job["command"] == ["/bin/migrate"]
    assert job["securityContext"] == {"privileged": True}
    assert [w.code for w in result.warnings] == ["PRIVILEGED"]


def test_port_ranges_udp_and_expose_make_one_service() -> None:
    text = "services:\n  dns:\n    image: x\n    ports: ['53:53/udp', '9000-9002:9000-9002']\n    expose: ['7000']\n"
    result = analyze([text])
    svc = next(n for n in result.canvas.nodes if n.kind == "Service").data
    assert [(p["port"], p["protocol"]) for p in svc["ports"]] == [
        (53, "UDP"), (9000, "TCP"), (9001, "TCP"), (9002, "TCP"), (7000, "TCP"),
    ]  # fmt: skip
    assert svc["serviceType"] == "ClusterIP"
    assert check_canvas(result.canvas).errors == ()


def test_long_port_syntax_and_string_healthcheck() -> None:
    text = (
        "services:\n  a:\n    image: x\n    ports: [{target: 80, published: '8080', protocol: tcp, host_ip: 0.0.0.0}]\n"
        "    healthcheck: {test: curl -f localhost}\n"
    )
    data = {n.kind: n.data for n in analyze([text]).canvas.nodes}
    assert data["Deployment"]["port"] == 80
    assert data["Deployment"]["livenessProbe"]["command"] == ["sh", "-c", "curl -f localhost"]


def test_override_files_merge_and_extends_applies() -> None:
    base = "services:\n  a:\n    image: x:1\n    environment: {A: '1'}\n  b:\n    extends: a\n    deploy: {replicas: 2}\n"
    override = "services:\n  a:\n    image: x:2\n    environment: [B=2]\n"
    result = analyze([base, override])
    data = {n.id: n.data for n in result.canvas.nodes}
    assert data["a"]["image"] == "x:2"
    assert data["a-config"]["data"] == {"A": "1", "B": "2"}
    assert data["b"]["image"] == "x:1"  # as in Compose v2, extends applies in its file, before overrides
    assert data["b"]["replicas"] == 2


def test_env_text_and_values_feed_interpolation() -> None:
    text = "services:\n  a:\n    image: ${IMG}:${TAG}\n"
    result = analyze([text], env_text="IMG=nginx\nTAG=1", values={"TAG": "2"})
    assert result.canvas.nodes[0].data["image"] == "nginx:2"


def test_names_are_sanitised_with_deterministic_collisions() -> None:
    text = "services:\n  My_App:\n    image: x\n  my-app:\n    image: y\n  1st:\n    image: z\n"
    names = {n.data["image"]: n.data["name"] for n in analyze([text]).canvas.nodes}
    assert names == {"x": "my-app", "y": "my-app-2", "z": "svc-1st"}


def test_env_file_without_content_is_warned() -> None:
    result = analyze(["services:\n  a:\n    image: x\n    env_file: app.env\n"])
    assert [(w.code, w.service, w.field) for w in result.warnings] == [
        ("ENV_FILE_NOT_RESOLVED", "a", "services.a.env_file[0]")
    ]


def test_errors_produce_nothing() -> None:
    cases = {
        "PORT_OUT_OF_RANGE": "services:\n  a:\n    image: x\n    ports: ['70000:70000']\n",
        "CIRCULAR_DEPENDENCY": "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: {a: {condition: service_started}}}\n",
        "SERVICE_NO_IMAGE": "services:\n  a: {command: run}\n",
        "INTERPOLATION_FAILED": "services:\n  a: {image: '${IMG:?set IMG}'}\n",
        "UNKNOWN_TOP_LEVEL_KEY": "servces: {}\nservices:\n  a: {image: x}\n",
    }
    for code, text in cases.items():
        result = analyze([text])
        assert code in [e.code for e in result.errors], code
        assert result.canvas.nodes == ()
        assert result.secret_values == {}
