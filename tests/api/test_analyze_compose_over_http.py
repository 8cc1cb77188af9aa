"""analyzeCompose over real HTTP: nodes and edges suggested, secret values kept out of the answer."""

from __future__ import annotations

from tests.graphql_client import GraphQLClient

ANALYZE = """query($files: [String!]!, $env: String) { analyzeCompose(files: $files, envFile: $env) {
  services volumes nodes { id kind data } edges { source target } secretKeys { nodeId keys }
  warnings { code service field } errors { code message field } } }"""

COMPOSE = """
services:
  web:
    image: nginx:${NGINX_TAG:-1.27}
    ports: ["8080:80"]
    environment:
      MODE: production
      DB_PASSWORD: ${DB_PASSWORD}
    depends_on: [db]
  db:
    image: postgres:16
    volumes: [data:/var/lib/postgresql/data]
volumes:
  data: {}
"""


async def test_a_compose_project_becomes_nodes_and_edges(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    result = (await gql.ok(ANALYZE, {"files": [COMPOSE], "env": "DB_PASSWORD=hunter2\n"}, token=token))[
        "analyzeCompose"
    ]
    assert result["errors"] == []
    assert sorted(result["services"]) == ["db", "web"]
    kinds = {n["kind"] for n in result["nodes"]}
    assert {"Deployment", "StatefulSet", "Service", "ConfigMap", "Secret", "PersistentVolumeClaim"} <= kinds
    web = next(n for n in result["nodes"] if n["kind"] == "Deployment")
    assert web["data"]["image"] == "nginx:1.27"
    assert result["secretKeys"][0]["keys"] == ["DB_PASSWORD"]
    assert "hunter2" not in str(result)


async def test_bad_compose_files_are_errors_with_their_path(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    broken = (await gql.ok(ANALYZE, {"files": ["services: [unclosed"]}, token=token))["analyzeCompose"]
    assert broken["errors"]
    assert broken["nodes"] == []
    bad_port = "services:\n  web:\n    image: nginx\n    ports: ['99999:80']\n"
    port = (await gql.ok(ANALYZE, {"files": [bad_port]}, token=token))["analyzeCompose"]
    assert port["errors"][0]["code"] == "PORT_OUT_OF_RANGE"
    assert port["errors"][0]["field"] == "services.web.ports[0]"
    container = "services:\n  web:\n    image: nginx\n    ports: ['8080:70000']\n"
    out_of_range = (await gql.ok(ANALYZE, {"files": [container]}, token=token))["analyzeCompose"]
    assert out_of_range["errors"][0]["field"] == "services.web.ports[0]"
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    exploded = (await gql.ok(ANALYZE, {"files": [bomb]}, token=token))["analyzeCompose"]
    assert exploded["errors"]
    none = await gql.error(ANALYZE, {"files": []}, token=token)
    assert none["extensions"]["code"] == "BAD_INPUT"
    anonymous = await gql.error(ANALYZE, {"files": [COMPOSE]})
    assert anonymous["extensions"]["code"] == "UNAUTHENTICATED"


PROJECT = """query($files: [String!]!, $profiles: [String!], $project: [ProjectFileInput!]) {
  analyzeCompose(files: $files, profiles: $profiles, projectFiles: $project) {
    services nodes { id kind data } secretKeys { nodeId keys }
    warnings { code service field } errors { code message service field } } }"""

MAIN = """
include: [db/compose.yaml]
services:
  web:
    extends: {file: common/base.yaml, service: base}
    env_file: [web.env]
    depends_on: [db]
  debug:
    image: busybox
    profiles: [debug]
"""

PROJECT_FILES = [
    {
        "path": "db/compose.yaml",
        "content": "services:\n  db:\n    image: postgres:16\n    env_file: db.env\n",
    },
    {"path": "db/db.env", "content": "POSTGRES_PASSWORD=hunter2\n"},
    {"path": "common/base.yaml", "content": "services:\n  base:\n    image: nginx:1.27\n"},
    {"path": "web.env", "content": "MODE=production\n"},
]


async def test_project_files_and_profiles_shape_the_analysis(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    variables = {"files": [MAIN], "profiles": ["debug"], "project": PROJECT_FILES}
    result = (await gql.ok(PROJECT, variables, token=token))["analyzeCompose"]
    assert result["errors"] == []
    assert result["services"] == ["web", "debug", "db"]
    data = {n["id"]: n["data"] for n in result["nodes"]}
    assert data["web"]["image"] == "nginx:1.27"
    assert data["web-config"]["data"] == {"MODE": "production"}
    assert {"nodeId": "db-secret", "keys": ["POSTGRES_PASSWORD"]} in result["secretKeys"]
    assert "hunter2" not in str(result)
    without = (
        await gql.ok(PROJECT, {**variables, "profiles": None, "project": PROJECT_FILES[1:]}, token=token)
    )["analyzeCompose"]
    assert without["nodes"] == []
    assert [(e["code"], e["field"]) for e in without["errors"]] == [
        ("INCLUDE_FILE_MISSING", "include[0].path[0]")
    ]
    assert "add it in projectFiles" in without["errors"][0]["message"]
