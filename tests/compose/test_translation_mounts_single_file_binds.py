"""Single-file bind mounts from the project become one ConfigMap per service, each file mounted at exactly
its target; data folders (read-write, not where configuration lives: see
test_translation_mounts_bind_folders), host paths and files that cannot be read are reported with the
reason."""

from app.compose.project import MAX_PROJECT_FILE_BYTES
from tests.compose.translated import manifest, pod, rendered, translated

PROXY = """
services:
  proxy:
    image: nginx
    volumes:
      - ./nginx.conf:/etc/nginx/nginx.conf:ro
      - type: bind
        source: ./conf.d/site.conf
        target: /etc/nginx/conf.d/default.conf
        read_only: true
      - ./html:/usr/share/nginx/html
      - /var/run/docker.sock:/var/run/docker.sock
      - ~/certs:/certs
      - ./missing.conf:/etc/missing.conf
"""
FILES = {
    "nginx.conf": "events {}\n",
    "conf.d/site.conf": "server { listen 80; }\n",
    "html/index.html": "<h1>hi</h1>",
}


def test_files_become_one_config_map_mounted_at_each_target() -> None:
    result = translated(PROXY, FILES, repository=True)
    assert result.data("proxy-files")["data"] == {
        "nginx.conf": "events {}\n",
        "site.conf": "server { listen 80; }\n",
    }
    assert ("proxy-files", "proxy", None, None) in result.edges()
    mounts = sorted((m["mountPath"], m["subPath"]) for m in result.data("proxy")["volumeMounts"])
    assert mounts == [
        ("/etc/nginx/conf.d/default.conf", "site.conf"),
        ("/etc/nginx/nginx.conf", "nginx.conf"),
    ]
    obj = manifest(rendered(result.canvas, result.secret_values), "proxy")
    assert pod(obj)["volumes"] == [{"name": "cm-proxy-files", "configMap": {"name": "proxy-files"}}]


def test_everything_else_is_reported_with_the_reason() -> None:
    result = translated(PROXY, FILES, repository=True)
    reasons = {w.field: w.message for w in result.warnings if w.code == "BIND_MOUNT_NOT_SUPPORTED"}
    assert set(reasons) == {f"services.proxy.volumes[{i}]" for i in (2, 3, 4, 5)}
    assert "'html' is a folder" in reasons["services.proxy.volumes[2]"]
    assert "path on the Docker host" in reasons["services.proxy.volumes[3]"]
    assert "path on the Docker host" in reasons["services.proxy.volumes[4]"]
    assert "'missing.conf' is not in the repository" in reasons["services.proxy.volumes[5]"]


def test_a_pasted_project_is_told_to_supply_the_file() -> None:
    result = translated(PROXY, {})
    assert not any(n.kind == "ConfigMap" for n in result.canvas.nodes)
    message = result.warning("BIND_MOUNT_NOT_SUPPORTED").message
    assert "'nginx.conf' was not supplied: add the file in projectFiles" in message


def test_paths_resolve_from_the_compose_folder_and_names_stay_unique() -> None:
    text = "services:\n  a:\n    image: x\n    volumes: ['./a/app.conf:/one.conf', './b/app.conf:/two.conf', '../up.txt:/u']\n"
    files = {"deploy/a/app.conf": "1", "deploy/b/app.conf": "2", "up.txt": "up"}
    result = translated(text, files, base_dir="deploy")
    assert result.data("a-files")["data"] == {"app.conf": "1", "app-2.conf": "2", "up.txt": "up"}


def test_binary_and_oversized_files_are_reported() -> None:
    text = "services:\n  a:\n    image: x\n    volumes: ['./big:/big', './bin:/bin.dat']\n"
    files = {"big": "x" * (MAX_PROJECT_FILE_BYTES + 1), "bin": "\x00\x01"}
    result = translated(text, files)
    messages = [w.message for w in result.warnings if w.code == "BIND_MOUNT_NOT_SUPPORTED"]
    assert len(messages) == 2
    assert "'big' is binary or larger than 1 MiB" in messages[0]
    assert "binary" in messages[1]


def test_files_past_the_config_map_limit_are_left_out() -> None:
    text = "services:\n  a:\n    image: x\n    volumes: ['./one:/one', './two:/two']\n"
    half = "x" * (600 * 1024)
    result = translated(text, {"one": half, "two": half})
    assert list(result.data("a-files")["data"]) == ["one"]
    assert "would pass 1 MiB" in result.warning("BIND_MOUNT_NOT_SUPPORTED").message
