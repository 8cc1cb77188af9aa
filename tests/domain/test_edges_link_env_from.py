"""ConfigMap and Secret edges into a workload's ``env`` handle become ``envFrom`` entries, not volumes."""

from typing import Any

from app.domain.canvas_check import check_canvas
from app.domain.edges import EDGE_RULES, ENV_HANDLE, edge_rule
from app.domain.workflows import Canvas, Edge, Node
from tests.domain.builders import canvas, check, data_of, messages, node, paths


def to_env(edge_id: str, source: str, target: str) -> Edge:
    """An edge into the workload's env handle."""
    return Edge(edge_id, source, target, target_handle=ENV_HANDLE)


def rechecked(result: Any, *, drop: str | None = None, **data: dict[str, Any]) -> Any:
    """The checked canvas checked again, without the edge ``drop`` and with some nodes' data updated."""
    nodes = tuple(
        Node(n.id, n.kind, n.position, {**n.data, **data.get(n.id, {})}) for n in result.canvas.nodes
    )
    return check_canvas(Canvas(nodes, tuple(e for e in result.canvas.edges if e.id != drop)))


def test_a_config_map_on_the_env_handle_becomes_env_from() -> None:
    result = check(
        [node("d", "Deployment", image="x"), node("c", "ConfigMap", name="settings")],
        [to_env("e", "c", "d")],
    )
    assert result.ok
    assert data_of(result, "d") == {
        "image": "x",
        "envFrom": [{"type": "configMap", "name": "settings", "nodeId": "c"}],
        "_linkedConfigMaps": ["c"],
    }


def test_a_secret_on_the_env_handle_becomes_env_from() -> None:
    result = check(
        [node("j", "CronJob", image="x", schedule="@daily"), node("s", "Secret", name="creds")],
        [to_env("e", "s", "j")],
    )
    data = data_of(result, "j")
    assert data["envFrom"] == [{"type": "secret", "name": "creds", "nodeId": "s"}]
    assert data["_linkedSecrets"] == ["s"]
    assert "volumeMounts" not in data


def test_other_target_handles_keep_the_volume_mount() -> None:
    for handle in (None, "volume", "anything"):
        result = check(
            [node("d", "Deployment", image="x"), node("c", "ConfigMap", name="cfg")],
            [],
        )
        result = check_canvas(
            Canvas(result.canvas.nodes, (Edge("e", "c", "d", target_handle=handle),)),
        )
        data = data_of(result, "d")
        assert "envFrom" not in data, handle
        assert data["volumeMounts"] == [
            {"type": "configMap", "name": "cfg", "mountPath": "/etc/config", "nodeId": "c", "readOnly": True}
        ]


def test_a_claim_on_the_env_handle_is_still_mounted() -> None:
    result = check(
        [node("d", "Deployment", image="x"), node("p", "PersistentVolumeClaim", name="data")],
        [to_env("e", "p", "d")],
    )
    data = data_of(result, "d")
    assert "envFrom" not in data
    assert data["volumeMounts"][0]["type"] == "persistentVolumeClaim"


def test_user_entries_come_first_and_are_kept() -> None:
    own = {"type": "secret", "name": "external", "prefix": "EXT_"}
    result = check(
        [node("d", "Deployment", image="x", envFrom=[own]), node("c", "ConfigMap", name="cfg")],
        [to_env("e", "c", "d")],
    )
    assert data_of(result, "d")["envFrom"] == [own, {"type": "configMap", "name": "cfg", "nodeId": "c"}]


def test_a_user_entry_for_the_same_object_is_taken_over_with_its_prefix() -> None:
    own = {"type": "configMap", "name": "cfg", "prefix": "APP_"}
    result = check(
        [node("d", "Deployment", image="x", envFrom=[own]), node("c", "ConfigMap", name="cfg")],
        [to_env("e", "c", "d")],
    )
    assert data_of(result, "d")["envFrom"] == [
        {"type": "configMap", "name": "cfg", "nodeId": "c", "prefix": "APP_"}
    ]


def test_the_prefix_of_a_linked_entry_survives_a_recheck_and_renames_follow() -> None:
    first = check(
        [node("d", "Deployment", image="x"), node("c", "ConfigMap", name="cfg")], [to_env("e", "c", "d")]
    )
    entry = {**data_of(first, "d")["envFrom"][0], "prefix": "CFG_"}
    second = rechecked(first, d={"envFrom": [entry]}, c={"name": "renamed"})
    assert data_of(second, "d")["envFrom"] == [
        {"type": "configMap", "name": "renamed", "nodeId": "c", "prefix": "CFG_"}
    ]
    assert rechecked(second).canvas == second.canvas


def test_removing_the_edge_removes_the_entry_and_the_link() -> None:
    first = check(
        [
            node("d", "Deployment", image="x", envFrom=[{"type": "secret", "name": "mine"}]),
            node("s", "Secret"),
        ],
        [to_env("e", "s", "d")],
    )
    after = rechecked(first, drop="e")
    assert data_of(after, "d") == {"image": "x", "envFrom": [{"type": "secret", "name": "mine"}]}


def test_stale_linked_entries_sent_by_a_client_are_dropped() -> None:
    stale = {"type": "configMap", "name": "gone", "nodeId": "ghost"}
    result = check([node("d", "Deployment", image="x", envFrom=[stale])])
    assert "envFrom" not in data_of(result, "d")


def test_entries_are_checked() -> None:
    result = check(
        [
            node(
                "d",
                "Deployment",
                image="x",
                envFrom=[
                    {"type": "volume", "name": "Bad Name"},
                    {"type": "secret", "name": "s", "prefix": "A=B"},
                ],
            )
        ]
    )
    assert paths(result.errors) == [
        "nodes[0].data.envFrom[0].type",
        "nodes[0].data.envFrom[0].name",
        "nodes[0].data.envFrom[1].prefix",
    ]
    strict = check([node("d", "Deployment", image="x", envFrom=[{"prefix": "P_"}])], strict=True)
    assert "nodes[0].data.envFrom[0].type" in paths(strict.errors)
    assert "nodes[0].data.envFrom[0].name" in paths(strict.errors)
    assert "name is required" in messages(strict.errors)


def test_the_rules_explain_the_env_handle() -> None:
    for rule in EDGE_RULES:
        assert (rule.target_handle is not None) == (rule.source_kind in ("ConfigMap", "Secret"))
    rule = edge_rule("Secret", "Job")
    assert rule is not None and rule.target_handle is not None
    assert "envFrom" in rule.target_handle and "envFrom" in rule.description


def test_every_workload_has_the_env_from_field() -> None:
    canvas_ = canvas(
        [
            node(kind.lower(), kind, image="x", schedule="@daily")
            for kind in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
        ]
        + [node("c", "ConfigMap")],
        [
            to_env(f"e-{kind}", "c", kind)
            for kind in ("deployment", "statefulset", "daemonset", "job", "cronjob")
        ],
    )
    result = check_canvas(canvas_)
    assert not [p for p in result.errors]
    for kind in ("deployment", "statefulset", "daemonset", "job", "cronjob"):
        assert data_of(result, kind)["envFrom"] == [{"type": "configMap", "name": "c", "nodeId": "c"}]
