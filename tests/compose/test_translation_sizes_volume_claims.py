"""Named volumes become PersistentVolumeClaims sized and shared as their labels say (or the defaults);
external volumes mount a claim that must exist."""

from tests.compose.translated import manifest, rendered, translated

DATA = """
services:
  db:
    image: postgres:16
    volumes: ["pgdata:/var/lib/postgresql/data"]
  app:
    image: app
    labels: {kompose.volume.size: 2Gi, kompose.volume.storage-class-name: standard}
    volumes:
      - uploads:/uploads
      - type: volume
        source: shared
        target: /shared
        volume: {subpath: app}
  cron:
    image: app
    volumes: ["shared:/shared:ro", "legacy:/legacy"]
volumes:
  pgdata:
    labels:
      trellis.dev/storage: 50Gi
      trellis.dev/access-mode: ReadWriteOncePod
      trellis.dev/storage-class: fast-ssd
  uploads:
    name: App Uploads
    driver: flocker
  shared:
    labels: [trellis.dev/storage=1Gi]
  legacy:
    external: true
"""


def test_labels_size_the_claims_and_defaults_fill_in() -> None:
    result = translated(DATA)
    assert result.data("pvc-pgdata") == {
        "name": "pgdata",
        "storage": "50Gi",
        "accessModes": ["ReadWriteOncePod"],
        "storageClassName": "fast-ssd",
        "volumeMode": "Filesystem",
    }
    assert result.data("pvc-uploads") == {
        "name": "app-uploads",
        "storage": "2Gi",
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "standard",
        "volumeMode": "Filesystem",
    }
    assert result.data("pvc-shared")["storage"] == "1Gi"
    assert not any(n.id == "pvc-legacy" for n in result.canvas.nodes)
    assert "kompose.volume.size" not in result.data("app").get("labels", {})


def test_mounts_keep_sub_paths_and_read_only_and_external_claims() -> None:
    result = translated(DATA)
    app = {m["mountPath"]: m for m in result.data("app")["volumeMounts"]}
    assert app["/shared"]["subPath"] == "app"
    cron = {m["mountPath"]: m for m in result.data("cron")["volumeMounts"]}
    assert cron["/shared"]["readOnly"] is True
    assert cron["/legacy"] == {
        "type": "persistentVolumeClaim",
        "name": "legacy",
        "mountPath": "/legacy",
        "readOnly": False,
    }
    assert ("pvc-shared", "app", None, None) in result.edges()
    assert ("pvc-shared", "cron", None, None) in result.edges()
    bundle = rendered(result.canvas, result.secret_values)
    assert manifest(bundle, "pvc-pgdata")["spec"]["resources"]["requests"]["storage"] == "50Gi"


def test_what_needs_attention_is_warned() -> None:
    result = translated(DATA)
    assert {(w.code, w.field) for w in result.warnings} == {
        ("VOLUME_DRIVER_IGNORED", "volumes.uploads.driver"),
        ("VOLUME_EXTERNAL", "volumes.legacy"),
        ("VOLUME_SHARED", "volumes.shared"),
    }
    assert "trellis.dev/access-mode: ReadWriteMany" in result.warning("VOLUME_SHARED").message


def test_invalid_labels_fall_back_to_the_defaults() -> None:
    text = (
        "services:\n  a:\n    image: x\n    volumes: ['v:/v']\n"
        "volumes:\n  v:\n    labels: {trellis.dev/storage: 5GB, trellis.dev/access-mode: sometimes}\n"
    )
    result = translated(text)
    assert result.data("pvc-v")["storage"] == "10Gi"
    assert result.data("pvc-v")["accessModes"] == ["ReadWriteOnce"]
    assert [w.code for w in result.warnings] == ["VOLUME_LABEL_INVALID", "VOLUME_LABEL_INVALID"]


def test_a_sub_path_leaving_the_volume_is_refused() -> None:
    text = (
        "services:\n  a:\n    image: x\n    volumes:\n"
        "      - {type: volume, source: v, target: /v, volume: {subpath: ../../etc}}\n"
        "volumes:\n  v: {}\n"
    )
    result = translated(text)
    assert result.codes() == ["VOLUME_SUBPATH_INVALID"]
    assert "volumeMounts" not in result.data("a")
