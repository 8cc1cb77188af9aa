"""Top-level ``configs`` and ``secrets`` become ConfigMap and Secret nodes mounted at exactly their targets
(Compose's defaults: configs at ``/<source>``, secrets at ``/run/secrets/<source>``); secret contents go
to the Secret values, never into node data."""

from tests.compose.translated import manifest, pod, rendered, translated

PROJECT = """
services:
  web:
    image: nginx
    configs:
      - site
      - source: tuning
        target: /etc/nginx/conf.d/tuning.conf
        mode: 0440
    secrets:
      - db_password
      - source: api_key
        target: api.key
  worker:
    image: worker
    secrets: [db_password]
configs:
  site:
    file: ./conf/site.conf
  tuning:
    content: "worker_connections 1024;"
secrets:
  db_password:
    file: ./secrets/db.txt
  api_key:
    environment: API_KEY
"""
FILES = {"deploy/conf/site.conf": "server {}\n", "deploy/secrets/db.txt": "hunter2\n"}


def test_configs_and_secrets_become_nodes_mounted_at_their_targets() -> None:
    result = translated(PROJECT, FILES, base_dir="deploy", variables={"API_KEY": "k-123"})
    assert result.data("config-site")["data"] == {"site": "server {}\n"}
    assert result.data("config-tuning")["data"] == {"tuning": "worker_connections 1024;"}
    assert result.data("secret-db-password")["keys"] == [{"id": "key-1", "name": "db_password"}]
    assert result.secret_values == {
        "secret-db-password": {"db_password": "hunter2\n"},
        "secret-api-key": {"api_key": "k-123"},
    }
    assert "hunter2" not in repr(result.canvas)
    assert result.edges() >= {
        ("config-site", "web", None, None),
        ("config-tuning", "web", None, None),
        ("secret-db-password", "web", None, None),
        ("secret-api-key", "web", None, None),
        ("secret-db-password", "worker", None, None),
    }
    mounts = {m["mountPath"]: (m["name"], m.get("subPath")) for m in result.data("web")["volumeMounts"]}
    assert mounts == {
        "/site": ("site", "site"),
        "/etc/nginx/conf.d/tuning.conf": ("tuning", "tuning"),
        "/run/secrets/db_password": ("db-password", "db_password"),
        "/run/secrets/api.key": ("api-key", "api_key"),
    }
    assert result.codes() == ["FILE_OWNER_NOT_TRANSLATED"]


def test_the_mounts_render_as_single_files() -> None:
    result = translated(PROJECT, FILES, base_dir="deploy", variables={"API_KEY": "k-123"})
    bundle = rendered(result.canvas, result.secret_values)
    web = pod(manifest(bundle, "web"))
    assert sorted(
        (m["mountPath"], m["subPath"], m["readOnly"]) for m in web["containers"][0]["volumeMounts"]
    ) == [
        ("/etc/nginx/conf.d/tuning.conf", "tuning", True),
        ("/run/secrets/api.key", "api_key", True),
        ("/run/secrets/db_password", "db_password", True),
        ("/site", "site", True),
    ]
    assert {v["name"] for v in web["volumes"]} == {
        "cm-site",
        "cm-tuning",
        "secret-db-password",
        "secret-api-key",
    }
    assert manifest(bundle, "config-site")["data"] == {"site": "server {}\n"}
    assert manifest(bundle, "secret-db-password")["data"] == {"db_password": "aHVudGVyMgo="}


def test_files_not_supplied_with_a_pasted_project_are_warned() -> None:
    result = translated(PROJECT, {}, variables={})
    missing = {w.field: w.message for w in result.warnings if w.code == "FILE_CONTENT_MISSING"}
    assert set(missing) == {"configs.site.file", "secrets.db_password.file", "secrets.api_key.environment"}
    assert "'conf/site.conf' was not supplied: add the file in projectFiles" in missing["configs.site.file"]
    assert "API_KEY" in missing["secrets.api_key.environment"]
    assert result.data("config-site")["data"] == {"site": ""}
    assert result.secret_values == {}  # no value: the Secret is not applied until one is set
    assert result.data("secret-db-password")["keys"] == [{"id": "key-1", "name": "db_password"}]


def test_missing_files_of_a_repository_and_paths_outside_it_are_warned() -> None:
    text = (
        "services:\n  a:\n    image: x\n    configs: [one, two, three]\n"
        "configs:\n  one: {file: gone.conf}\n  two: {file: ../../etc/passwd}\n  three: {file: /etc/hosts}\n"
    )
    result = translated(text, {"other": "x"}, repository=True)
    messages = {w.field: w.message for w in result.warnings if w.code == "FILE_CONTENT_MISSING"}
    assert "'gone.conf' is not in the repository" in messages["configs.one.file"]
    assert "lies outside the project" in messages["configs.two.file"]
    assert "path on the Docker host" in messages["configs.three.file"]


def test_external_configs_and_secrets_mount_existing_objects() -> None:
    text = (
        "services:\n  a:\n    image: x\n    configs: [cfg]\n    secrets: [{source: tok, target: /t}]\n"
        "configs:\n  cfg: {external: true, name: shared-config}\n"
        "secrets:\n  tok: {external: {name: team_token}}\n"
    )
    result = translated(text)
    assert [n.kind for n in result.canvas.nodes] == ["Deployment"]
    assert result.data("a")["volumeMounts"] == [
        {
            "type": "configMap",
            "name": "shared-config",
            "mountPath": "/cfg",
            "subPath": "cfg",
            "readOnly": True,
        },
        {"type": "secret", "name": "team-token", "mountPath": "/t", "subPath": "tok", "readOnly": True},
    ]
    assert result.codes() == ["CONFIG_EXTERNAL", "SECRET_EXTERNAL"]
    assert "ConfigMap named 'shared-config' with the key 'cfg'" in result.warning("CONFIG_EXTERNAL").message
    rendered(result.canvas, result.secret_values)


def test_undeclared_sources_and_taken_targets_are_warned() -> None:
    text = (
        "services:\n  a:\n    image: x\n    configs: [nope, {source: c, target: /x}, {source: c, target: /x}]\n"
        "configs:\n  c: {content: hi}\n"
    )
    result = translated(text)
    assert result.codes() == ["CONFIG_NOT_DECLARED", "MOUNT_TARGET_TAKEN"]
    assert len(result.data("a")["volumeMounts"]) == 1


def test_one_config_mounted_twice_renders_one_volume() -> None:
    text = (
        "services:\n  a:\n    image: x\n    configs: [{source: c, target: /one}, {source: c, target: /two}]\n"
        "configs:\n  c: {content: hi}\n"
    )
    result = translated(text)
    obj = manifest(rendered(result.canvas, result.secret_values), "a")
    assert [m["mountPath"] for m in pod(obj)["containers"][0]["volumeMounts"]] == ["/two", "/one"]
    assert len(pod(obj)["volumes"]) == 1


def test_a_file_variable_naming_a_mounted_secret_is_no_secret_itself() -> None:
    text = (
        "services:\n  db:\n    image: postgres\n    secrets: [pw]\n"
        "    environment: {POSTGRES_PASSWORD_FILE: /run/secrets/pw, POSTGRES_PASSWORD: inline}\n"
        "secrets:\n  pw: {content: s3cret}\n"
    )
    result = translated(text)
    assert result.data("db-config")["data"] == {"POSTGRES_PASSWORD_FILE": "/run/secrets/pw"}
    assert result.secret_values["db-secret"] == {"POSTGRES_PASSWORD": "inline"}
