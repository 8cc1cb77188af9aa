"""Object names are DNS-1123 slugs, unique per kind, and node ids unique, resolved the same way every
time: workloads keep their service's name, other objects yield."""

from tests.compose.translated import rendered, translated

CROWDED = """
services:
  web:
    image: x
    environment: {A: "1", TOKEN: t}
    volumes: [web_data:/a, "./x.conf:/x.conf"]
    configs: [web-config]
    secrets: [web_secret]
  web-config:
    image: y
    ports: ["80"]
  web-svc:
    image: z
  Web_Files:
    image: w
volumes:
  web_data: {}
  web-data: {}
configs:
  web-config: {content: c}
secrets:
  web_secret: {content: s}
"""


def test_names_and_ids_are_unique_and_stable() -> None:
    first = translated(CROWDED, {"x.conf": "x"})
    again = translated(CROWDED, {"x.conf": "x"})
    assert first.canvas == again.canvas
    ids = [n.id for n in first.canvas.nodes]
    assert len(ids) == len(set(ids))
    names = [(n.kind, n.data["name"]) for n in first.canvas.nodes]
    assert len(names) == len(set(names))
    by_id = {n.id: (n.kind, n.data["name"]) for n in first.canvas.nodes}
    assert by_id["web"] == ("StatefulSet", "web")
    assert by_id["web-config"] == ("Deployment", "web-config")
    assert by_id["web-svc"] == ("Deployment", "web-svc")
    assert by_id["web-files"] == ("Deployment", "web-files")
    assert by_id["web-config-svc"] == ("Service", "web-config")
    config_maps = sorted(name for kind, name in by_id.values() if kind == "ConfigMap")
    assert config_maps == ["web-config", "web-config-2", "web-files"]
    assert sorted(name for kind, name in by_id.values() if kind == "Secret") == ["web-secret", "web-secret-2"]
    rendered(first.canvas, first.secret_values)


def test_volumes_whose_slugs_meet_get_their_own_claims() -> None:
    text = "services:\n  a:\n    image: x\n    volumes: ['my_data:/one', 'my-data:/two']\nvolumes:\n  my_data: {}\n  my-data: {}\n"
    result = translated(text)
    claims = sorted(n.data["name"] for n in result.canvas.nodes if n.kind == "PersistentVolumeClaim")
    assert claims == ["my-data", "my-data-2"]
    assert sorted(m["name"] for m in result.data("a")["volumeMounts"]) == claims


def test_objects_made_never_take_the_name_of_an_external_one() -> None:
    text = (
        "services:\n  a:\n    image: x\n    volumes: ['fresh:/f', 'old:/o']\n    configs: [mine, theirs]\n"
        "volumes:\n  fresh: {name: shared}\n  old: {external: true, name: shared}\n"
        "configs:\n  mine: {content: x, name: settings}\n  theirs: {external: {name: settings}}\n"
    )
    result = translated(text)
    assert result.data("pvc-fresh")["name"] == "shared-2"
    assert result.data("config-mine")["name"] == "settings-2"
    mounts = {m["mountPath"]: m["name"] for m in result.data("a")["volumeMounts"]}
    assert mounts == {"/f": "shared-2", "/o": "shared", "/mine": "settings-2", "/theirs": "settings"}
