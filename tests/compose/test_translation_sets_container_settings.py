"""working_dir, hostname, labels, annotations, stop_grace_period, tty, stdin_open and pull_policy reach the
workload and its manifest; Trellis's own labels always win."""

from tests.compose.translated import manifest, pod, rendered, translated

APP = """
services:
  app:
    image: app:1
    working_dir: /srv/app
    hostname: app-host
    stop_grace_period: 1m30s
    tty: true
    stdin_open: true
    pull_policy: always
    labels:
      com.example.team: payments
      com.example.empty:
      traefik.http.routers.app.rule: Host(`app.example.com`)
      trellis.dev/node: hijack
      app.kubernetes.io/managed-by: someone
      "bad key!": x
    annotations: [com.example.note=hello world]
"""


def test_settings_reach_the_node() -> None:
    app = translated(APP).data("app")
    assert app["workingDir"] == "/srv/app"
    assert app["hostname"] == "app-host"
    assert app["terminationGracePeriodSeconds"] == 90
    assert (app["tty"], app["stdin"]) == (True, True)
    assert app["imagePullPolicy"] == "Always"
    assert app["labels"] == {"com.example.team": "payments", "com.example.empty": ""}
    assert app["annotations"] == {
        "traefik.http.routers.app.rule": "Host(`app.example.com`)",
        "com.example.note": "hello world",
    }


def test_labels_that_cannot_be_kept_as_labels_are_warned() -> None:
    result = translated(APP)
    dropped = {w.field for w in result.warnings if w.code == "LABEL_NOT_TRANSLATED"}
    assert dropped == {
        "services.app.labels.trellis.dev/node",
        "services.app.labels.app.kubernetes.io/managed-by",
        "services.app.labels.bad key!",
    }
    assert "traefik.http.routers.app.rule" in result.warning("LABEL_AS_ANNOTATION").message


def test_the_manifest_carries_them_and_trellis_labels_win() -> None:
    result = translated(APP)
    obj = manifest(rendered(result.canvas, result.secret_values), "app")
    spec = pod(obj)
    container = spec["containers"][0]
    assert (container["workingDir"], container["tty"], container["stdin"]) == ("/srv/app", True, True)
    assert (spec["hostname"], spec["terminationGracePeriodSeconds"]) == ("app-host", 90)
    for labels in (obj["metadata"]["labels"], obj["spec"]["template"]["metadata"]["labels"]):
        assert labels["com.example.team"] == "payments"
        assert labels["trellis.dev/node"] == "app"
        assert labels["app.kubernetes.io/managed-by"] == "trellis"
    assert obj["metadata"]["annotations"]["com.example.note"] == "hello world"


def test_invalid_hostname_and_duration_are_warned_and_left_out() -> None:
    result = translated(
        "services:\n  a:\n    image: x\n    hostname: Not_Valid\n    stop_grace_period: soon\n"
    )
    assert result.codes() == ["HOSTNAME_INVALID", "INVALID_DURATION"]
    assert "hostname" not in result.data("a")
    assert "terminationGracePeriodSeconds" not in result.data("a")


def test_list_labels_and_unused_settings() -> None:
    text = "services:\n  a:\n    image: x\n    labels: [tier=web, solo]\n    tty: false\n    pull_policy: build\n"
    a = translated(text).data("a")
    assert a["labels"] == {"tier": "web", "solo": ""}
    assert "tty" not in a
    assert "imagePullPolicy" not in a


def test_tiny_cpu_amounts_keep_the_smallest_quantity() -> None:
    text = "services:\n  a:\n    image: x\n    deploy: {resources: {reservations: {cpus: '0.0001'}}}\n"
    assert translated(text).data("a")["resources"] == {"requests": {"cpu": "1m"}}
