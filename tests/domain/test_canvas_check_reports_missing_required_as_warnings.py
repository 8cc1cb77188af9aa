from app.domain.canvas_check import check_canvas, missing_required
from app.domain.problems import Problem
from tests.domain.builders import check, edge, node, paths


def test_a_missing_image_is_a_warning_when_saving() -> None:
    result = check([node("d", "Deployment", name="web")])
    assert result.ok
    assert result.warnings == (
        Problem(
            "nodes[0].data.image",
            "image is required: container image, e.g. nginx:1.27 or ghcr.io/org/app:v1.",
        ),
    )


def test_strict_turns_what_is_lacking_into_errors() -> None:
    result = check([node("d", "Deployment", name="web", foo=1)], strict=True)
    assert not result.ok
    assert paths(result.errors) == ["nodes[0].data.image"]
    assert paths(result.warnings) == ["nodes[0].data.foo"]  # a dropped field stays a warning


def test_missing_required_lists_what_a_checked_canvas_lacks() -> None:
    result = check([node("c", "ConfigMap"), node("j", "CronJob", image="busybox")])
    assert missing_required(result.canvas) == (
        Problem("nodes[1].data.schedule", missing_required(result.canvas)[0].message),
    )
    assert "schedule is required" in missing_required(result.canvas)[0].message


def test_missing_required_is_empty_for_a_complete_canvas() -> None:
    result = check(
        [node("d", "Deployment", image="nginx", port=80), node("s", "Service")],
        [edge("e", "s", "d")],
    )
    assert missing_required(result.canvas) == ()
    assert result.warnings == ()


def test_empty_strings_count_as_missing() -> None:
    assert paths(missing_required(check([node("d", "Job", image="")]).canvas)) == ["nodes[0].data.image"]


def test_required_sub_fields_are_reported_inside_lists() -> None:
    result = check(
        [node("d", "Deployment", image="x", env=[{"value": "1"}], volumeMounts=[{"type": "secret"}])]
    )
    assert paths(result.warnings) == [
        "nodes[0].data.env[0].name",
        "nodes[0].data.volumeMounts[0].name",
        "nodes[0].data.volumeMounts[0].mountPath",
    ]


def test_an_autoscaler_needs_a_goal_and_limits() -> None:
    result = check([node("h", "hpa")])
    assert paths(result.warnings) == [
        "nodes[0].data.scaleTargetName",
        "nodes[0].data.maxReplicas",
        "nodes[0].data.targetCPUUtilization",
    ]


def test_an_unconnected_service_without_selector_lacks_pods() -> None:
    assert "connect the Service" in check([node("s", "Service")]).warnings[0].message
    assert check([node("s", "Service", selector={"app": "legacy"})]).warnings == ()


def test_several_service_ports_need_names() -> None:
    result = check(
        [node("s", "Service", selector={"a": "b"}, ports=[{"port": 80}, {"name": "b", "port": 81}])]
    )
    assert paths(result.warnings) == ["nodes[0].data.ports[0].name"]


def test_probes_need_a_port_or_a_command() -> None:
    result = check(
        [
            node(
                "d",
                "Deployment",
                image="x",
                readinessProbe={"type": "httpGet"},
                livenessProbe={"type": "exec"},
            )
        ]
    )
    assert paths(result.warnings) == [
        "nodes[0].data.livenessProbe.command",
        "nodes[0].data.readinessProbe.port",
    ]


def test_ingress_paths_need_a_backend_and_tls_a_secret() -> None:
    result = check([node("i", "Ingress", paths=[{"id": "p1", "path": "/"}], tlsEnabled=True)])
    assert paths(result.warnings) == ["nodes[0].data.paths[0]", "nodes[0].data.tlsSecretName"]


def test_two_objects_with_one_name_are_reported() -> None:
    result = check(
        [
            node("a", "ConfigMap", name="cfg"),
            node("b", "ConfigMap", name="cfg"),
            node("c", "ConfigMap", name="cfg", namespace="other"),
            node("d", "Secret", name="cfg"),
            node("cfg", "ConfigMap"),
        ]
    )
    assert paths(result.warnings) == ["nodes[1].data.name", "nodes[4].data.name"]
    assert "nodes[0] is also a ConfigMap named 'cfg'" in result.warnings[0].message


def test_two_volumes_at_one_mount_path_are_reported() -> None:
    result = check(
        [node("d", "Deployment", image="x"), node("c1", "ConfigMap"), node("c2", "ConfigMap")],
        [edge("e1", "c1", "d"), edge("e2", "c2", "d")],
    )
    assert result.ok
    assert paths(result.warnings) == ["nodes[0].data.volumeMounts[1].mountPath"]
    assert "/etc/config is also the mountPath of volumeMounts[0]" in result.warnings[0].message


def test_lacks_point_at_the_input_index_when_nodes_were_left_out() -> None:
    result = check_canvas(check([node("x", "plugin"), node("d", "Deployment")]).canvas)
    assert paths(result.warnings) == ["nodes[0].data.image"]
    result = check([node("x", "plugin"), node("d", "Deployment")])
    assert paths(result.warnings) == ["nodes[1].data.image"]
