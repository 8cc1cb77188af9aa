"""Bind-mounted project folders that hold configuration (read-only, or bound where configuration lives)
join the service's ConfigMap of files, each file mounted at its path under the target; data folders, and
folders too large, binary or of too many files, are reported with the reason and nothing of them is
mounted."""

import pytest

from app.compose.file_mounts import FOLDER_MAX_FILES, is_configuration
from app.compose.project import MAX_LISTED_ENTRIES, FilesInMemory
from app.compose.storage import VolumeItem
from tests.compose.translated import manifest, pod, rendered, translated

MONITORING = """
services:
  prometheus:
    image: prom/prometheus
    ports: ["9090:9090"]
    volumes:
      - ./prometheus:/etc/prometheus
      - ./rules.yml:/etc/rules.yml:ro
  grafana:
    image: grafana/grafana
    ports: ["3000:3000"]
    volumes:
      - ./grafana/provisioning:/etc/grafana/provisioning
  app:
    image: example/app
    volumes:
      - ./data:/var/lib/app
"""
FILES = {
    "prometheus/prometheus.yml": "scrape_configs:\n  - static_configs:\n      - targets: ['app:8080']\n",
    "rules.yml": "groups: []\n",
    "grafana/provisioning/datasources/prometheus.yml": "url: http://prometheus:9090\n",
    "grafana/provisioning/dashboards/default.yml": "providers: []\n",
    "data/state.db": "written by the app",
}


def _mounts(result_data: dict[str, object]) -> list[tuple[str, str, str]]:
    mounts = result_data["volumeMounts"]
    assert isinstance(mounts, list)
    return sorted((m["name"], m["mountPath"], m["subPath"]) for m in mounts)


def test_a_config_folder_joins_the_service_files_each_file_at_its_path() -> None:
    result = translated(MONITORING, FILES, repository=True)
    assert result.data("prometheus-files")["data"] == {
        "prometheus.yml": FILES["prometheus/prometheus.yml"],
        "rules.yml": "groups: []\n",
    }
    assert _mounts(result.data("prometheus")) == [
        ("prometheus-files", "/etc/prometheus/prometheus.yml", "prometheus.yml"),
        ("prometheus-files", "/etc/rules.yml", "rules.yml"),
    ]
    assert ("prometheus-files", "prometheus", None, None) in result.edges()


def test_nested_files_get_keys_without_slashes_and_keep_their_paths() -> None:
    result = translated(MONITORING, FILES, repository=True)
    assert result.data("grafana-files")["data"] == {
        "dashboards__default.yml": "providers: []\n",
        "datasources__prometheus.yml": "url: http://prometheus:9090\n",
    }
    assert _mounts(result.data("grafana")) == [
        ("grafana-files", "/etc/grafana/provisioning/dashboards/default.yml", "dashboards__default.yml"),
        (
            "grafana-files",
            "/etc/grafana/provisioning/datasources/prometheus.yml",
            "datasources__prometheus.yml",
        ),
    ]


def test_the_folders_render_to_valid_manifests_with_one_volume_per_config_map() -> None:
    result = translated(MONITORING, FILES, repository=True)
    bundle = rendered(result.canvas, result.secret_values)
    spec = pod(manifest(bundle, "grafana"))
    assert spec["volumes"] == [{"name": "cm-grafana-files", "configMap": {"name": "grafana-files"}}]
    mounted = {m["mountPath"]: m["subPath"] for m in spec["containers"][0]["volumeMounts"]}
    assert mounted["/etc/grafana/provisioning/datasources/prometheus.yml"] == "datasources__prometheus.yml"
    assert manifest(bundle, "grafana-files")["data"]["dashboards__default.yml"] == "providers: []\n"


def test_a_read_write_data_folder_is_reported_and_not_mounted() -> None:
    result = translated(MONITORING, FILES, repository=True)
    assert "volumeMounts" not in result.data("app")
    assert not any(n.id.startswith("app-files") for n in result.canvas.nodes)
    warning = result.warning("BIND_MOUNT_NOT_SUPPORTED")
    assert warning.field == "services.app.volumes[0]"
    assert "'data' is a folder mounted read-write" in warning.message
    assert "add :ro" in warning.message


def test_a_read_only_folder_is_mounted_wherever_it_goes() -> None:
    text = "services:\n  web:\n    image: nginx\n    volumes: ['./site:/usr/share/nginx/html:ro']\n"
    result = translated(text, {"site/index.html": "<h1>hi</h1>", "site/css/main.css": "h1 {}"})
    assert result.data("web-files")["data"] == {"css__main.css": "h1 {}", "index.html": "<h1>hi</h1>"}
    assert _mounts(result.data("web")) == [
        ("web-files", "/usr/share/nginx/html/css/main.css", "css__main.css"),
        ("web-files", "/usr/share/nginx/html/index.html", "index.html"),
    ]
    assert result.warnings == ()


def test_a_file_mounted_alone_and_with_its_folder_is_one_entry() -> None:
    text = (
        "services:\n  web:\n    image: nginx\n    volumes: ['./conf:/etc/app', './conf/app.ini:/app.ini']\n"
    )
    result = translated(text, {"conf/app.ini": "[main]\n"})
    assert result.data("web-files")["data"] == {"app.ini": "[main]\n"}
    assert _mounts(result.data("web")) == [
        ("web-files", "/app.ini", "app.ini"),
        ("web-files", "/etc/app/app.ini", "app.ini"),
    ]


def test_a_folder_of_too_many_files_is_reported_and_nothing_of_it_is_mounted() -> None:
    text = "services:\n  web:\n    image: nginx\n    volumes: ['./conf:/etc/app']\n"
    files = {f"conf/{n:03}.conf": "x" for n in range(FOLDER_MAX_FILES + 1)}
    result = translated(text, files)
    assert not any(n.kind == "ConfigMap" for n in result.canvas.nodes)
    message = result.warning("BIND_MOUNT_NOT_SUPPORTED").message
    assert f"'conf' is a folder of more than {FOLDER_MAX_FILES} files" in message


def test_a_binary_file_keeps_the_whole_folder_out() -> None:
    text = "services:\n  web:\n    image: nginx\n    volumes: ['./conf:/etc/app']\n"
    result = translated(text, {"conf/a.conf": "a", "conf/logo.png": "\x89PNG\x00\x01"})
    assert not any(n.kind == "ConfigMap" for n in result.canvas.nodes)
    message = result.warning("BIND_MOUNT_NOT_SUPPORTED").message
    assert "'conf/logo.png' in the folder is binary or larger than 1 MiB" in message


def test_a_folder_past_the_size_limit_is_left_out_and_what_fitted_stays() -> None:
    text = "services:\n  a:\n    image: x\n    volumes: ['./one:/one', './conf:/etc/app']\n"
    half = "x" * (600 * 1024)
    result = translated(text, {"one": half, "conf/small.conf": "s", "conf/big.conf": half})
    assert list(result.data("a-files")["data"]) == ["one"]
    assert _mounts(result.data("a")) == [("a-files", "/one", "one")]
    warning = result.warning("BIND_MOUNT_NOT_SUPPORTED")
    assert (warning.field, "would pass 1 MiB" in warning.message) == ("services.a.volumes[1]", True)


def test_files_of_a_mounted_config_folder_tell_the_ports_of_the_services_they_name() -> None:
    result = translated(MONITORING, FILES, repository=True)
    assert result.data("app-svc")["port"] == 8080
    assert "prometheus reaches it at app:8080" in result.warning("PORTS_INFERRED").message


@pytest.mark.parametrize(
    ("target", "read_only", "configuration"),
    [
        ("/etc/prometheus", False, True),
        ("/usr/local/etc/redis", False, True),
        ("/etc/nginx/conf.d", False, True),
        ("/docker-entrypoint-initdb.d", False, True),
        ("/certs", False, True),
        ("/app/config", False, True),
        ("/etc/grafana/provisioning", False, True),
        ("/var/lib/postgresql/data", False, False),
        ("/code", False, False),
        ("/usr/share/nginx/html", False, False),
        ("/usr/share/nginx/html", True, True),
    ],
)
def test_configuration_is_told_from_data_by_read_only_and_target(
    target: str, read_only: bool, configuration: bool
) -> None:
    item = VolumeItem("bind", "./x", target, read_only, None, "services.s.volumes[0]")
    assert is_configuration(item) is configuration


def test_pasted_files_list_a_folder_walking_its_sub_folders() -> None:
    files = FilesInMemory({"conf/a.yml": "a", "./conf/sub/b.yml": "b", "conf.yml": "c", "other/x": "x"})
    assert files.list_dir("conf") == ["a.yml", "sub/b.yml"]
    assert files.list_dir("./conf/") == ["a.yml", "sub/b.yml"]
    assert files.list_dir("conf/sub") == ["b.yml"]
    assert files.list_dir("") == ["conf.yml", "conf/a.yml", "conf/sub/b.yml", "other/x"]
    assert files.list_dir("conf.yml") is None
    assert files.list_dir("missing") is None
    assert files.list_dir("../conf") is None


def test_pasted_files_refuse_to_list_a_folder_of_too_many_entries() -> None:
    at_limit = FilesInMemory({f"d/{n}": "" for n in range(MAX_LISTED_ENTRIES)})
    assert len(at_limit.list_dir("d") or []) == MAX_LISTED_ENTRIES
    nested = FilesInMemory({f"d/{n}/f": "" for n in range(MAX_LISTED_ENTRIES // 2 + 1)})
    assert nested.list_dir("d") is None  # files and their folders count
