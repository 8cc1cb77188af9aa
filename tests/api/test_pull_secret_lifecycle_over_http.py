"""Image pull Secrets through the API, over their whole life: previews and plans name them exactly as runs
do (without contacting the registry or showing credentials); a Secret shared by workflows in a namespace
goes only once none of them (nor any other object there) uses it, at a run's prune or a teardown (its
Namespace then goes too); deleting a registry deletes its Secrets wherever they were applied, best effort,
with what could not be deleted in the audit entry."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from app.domain.registries import pull_secret_name
from app.settings import Settings
from tests.api.canvas import node
from tests.api.clusters import register_kubeconfig
from tests.api.test_registries_over_http import docker_login, personal_workspace, register, wait_for_run
from tests.graphql_client import GraphQLClient
from tests.kubeapi.builders import deployment, namespace

HOST = "127.0.0.1:5443"  # registered, never contacted: a GENERIC registry's login is its credentials
PASSWORD = "pull-secret-password-0123"
CREATE = """mutation($name: String!, $ns: String!, $c: ID!) {
  createWorkflow(input: {name: $name, namespace: $ns, clusterId: $c}) { workflow { id revision } } }"""
SAVE = "mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"
RUN = "mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id } } }"
GET_RUN = """query($id: ID!) { run(id: $id) { status error logs { level message }
  pruned { kind name namespace } } }"""
PREVIEW = """query($wf: ID!, $version: Int) { previewManifests(workflowId: $wf, version: $version) {
  yaml objects { nodeId kind name yaml } } }"""
PLAN = """query($wf: ID!) { planRun(workflowId: $wf) { creates { kind name } unchanged { kind name }
  changes { kind name changes { path } } refused { kind problem } } }"""
DELETE_WORKFLOW = """mutation($id: ID!) { deleteWorkflow(input: {id: $id, deleteResources: true}) {
  removedObjects } }"""
DELETE_REGISTRY = "mutation($id: ID!) { deleteRegistry(input: {id: $id}) { deletedRegistryId } }"
AUDIT = """query($ws: ID!) { auditEvents(workspaceId: $ws, filter: {action: "registry.remove"}) {
  nodes { outcome detail { key value } } } }"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback allowed: the registry's address."""
    return settings.model_copy(update={"egress_allow_loopback": True})


class Team:
    """A signed-in owner with the test cluster and a registry with credentials in their workspace."""

    def __init__(self, gql: GraphQLClient, kube_api: Any) -> None:
        self.gql, self.kube_api = gql, kube_api
        self.token = self.workspace = self.cluster = self.registry = ""

    async def setup(self) -> Team:
        self.token = (await self.gql.register("ada@example.com"))["token"]
        self.workspace = await personal_workspace(self.gql, self.token)
        self.cluster = (await register_kubeconfig(self.gql, self.token, self.kube_api))["id"]
        credentials = {"username": "puller", "password": PASSWORD}
        self.registry = (
            await register(
                self.gql,
                self.token,
                workspaceId=self.workspace,
                name="private",
                type="GENERIC",
                url=f"https://{HOST}",
                credentials=credentials,
            )
        )["id"]
        return self

    @property
    def secret(self) -> str:
        return pull_secret_name(self.registry)

    async def workflow(self, name: str, space: str, nodes: list[dict[str, Any]]) -> str:
        created = await self.gql.ok(CREATE, {"name": name, "ns": space, "c": self.cluster}, token=self.token)
        wf = created["createWorkflow"]["workflow"]
        await self.save(wf["id"], wf["revision"], nodes)
        return str(wf["id"])

    async def save(self, wf: str, revision: int, nodes: list[dict[str, Any]]) -> int:
        data = {"id": wf, "nodes": nodes, "edges": [], "expectedRevision": revision}
        saved = await self.gql.ok(SAVE, {"input": data}, token=self.token)
        return int(saved["saveWorkflow"]["workflow"]["revision"])

    async def run(self, wf: str) -> dict[str, Any]:
        started = (await self.gql.ok(RUN, {"id": wf}, token=self.token))["runWorkflow"]["run"]
        await wait_for_run(self.gql, self.token, started["id"])
        run: dict[str, Any] = (await self.gql.ok(GET_RUN, {"id": started["id"]}, token=self.token))["run"]
        assert run["status"] == "COMPLETED", run
        return run

    async def delete(self, wf: str) -> int:
        data = await self.gql.ok(DELETE_WORKFLOW, {"id": wf}, token=self.token)
        return int(data["deleteWorkflow"]["removedObjects"])


def _messages(run: dict[str, Any]) -> list[str]:
    return [line["message"] for line in run["logs"]]


async def test_previews_and_plans_name_the_pull_secrets_a_run_applies(
    kube_api: Any, gql: GraphQLClient
) -> None:
    team = await Team(gql, kube_api).setup()
    nodes = [
        node("ns", "Namespace", name="shop"),
        node("web", "Deployment", name="web", image=f"{HOST}/shop/web:1", port=8080),
        node("cron", "CronJob", name="report", image=f"{HOST}/shop/report:1", schedule="0 * * * *"),
        node("proxy", "Deployment", name="proxy", image="nginx:1.27"),
    ]
    wf = await team.workflow("shop", "shop", nodes)

    preview = (await gql.ok(PREVIEW, {"wf": wf}, token=team.token))["previewManifests"]

    rendered = {o["nodeId"]: yaml.safe_load(o["yaml"]) for o in preview["objects"]}
    web, cron, proxy = rendered["web"], rendered["cron"], rendered["proxy"]
    assert web["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": team.secret}]
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["imagePullSecrets"] == [
        {"name": team.secret}
    ]
    assert "imagePullSecrets" not in proxy["spec"]["template"]["spec"]
    assert not any(
        o["kind"] == "Secret" for o in preview["objects"]
    )  # the shared Secret is not the workflow's
    assert PASSWORD not in preview["yaml"]

    run = await team.run(wf)

    assert f"image pull Secret {team.secret} applied in shop" in _messages(run)
    live = kube_api.get("Deployment", "shop", "web")["spec"]["template"]["spec"]
    assert live["imagePullSecrets"] == web["spec"]["template"]["spec"]["imagePullSecrets"]
    assert docker_login(kube_api.get("Secret", "shop", team.secret), HOST) == ("puller", PASSWORD)
    plan = (await gql.ok(PLAN, {"wf": wf}, token=team.token))["planRun"]
    assert plan["changes"] == [] and plan["creates"] == [] and plan["refused"] == []  # a run changes nothing
    assert {(o["kind"], o["name"]) for o in plan["unchanged"]} >= {
        ("Deployment", "web"),
        ("CronJob", "report"),
    }
    snapshot = (await gql.ok(PREVIEW, {"wf": wf, "version": 1}, token=team.token))["previewManifests"]
    assert snapshot["yaml"] == preview["yaml"]  # the run's version previews as the run rendered it


async def test_a_shared_pull_secret_goes_once_nothing_in_its_namespace_uses_it(
    kube_api: Any, gql: GraphQLClient
) -> None:
    team = await Team(gql, kube_api).setup()
    kube_api.create(namespace("shop"))
    first = await team.workflow(
        "first", "shop", [node("web", "Deployment", name="web", image=f"{HOST}/web:1")]
    )
    second_nodes = [node("api", "Deployment", name="api", image=f"{HOST}/api:1")]
    second = await team.workflow("second", "shop", second_nodes)
    await team.run(first)
    await team.run(second)
    assert kube_api.get("Secret", "shop", team.secret) is not None

    assert await team.delete(first) == 1  # its Deployment; the Secret stays for the second workflow
    assert kube_api.get("Secret", "shop", team.secret) is not None

    theirs = deployment("theirs", "shop", image=f"{HOST}/theirs:1")
    theirs["spec"]["template"]["spec"]["imagePullSecrets"] = [{"name": team.secret}]
    kube_api.create(theirs)  # not Trellis's, but it pulls with the Secret
    second_nodes[0]["data"]["image"] = "nginx:1.27"  # the second workflow no longer needs the registry
    await team.save(second, 2, second_nodes)
    kept = await team.run(second)
    assert any("is no longer needed but kept: an object there" in m for m in _messages(kept)), kept
    assert kube_api.get("Secret", "shop", team.secret) is not None
    assert "imagePullSecrets" not in kube_api.get("Deployment", "shop", "api")["spec"]["template"]["spec"]

    kube_api.delete("Deployment", "shop", "theirs")
    gone = await team.run(second)  # the record was kept: the next run tries again

    assert (
        f"image pull Secret {team.secret} in shop deleted: no workload there uses it any more"
        in _messages(gone)
    )
    assert {"kind": "Secret", "name": team.secret, "namespace": "shop"} in gone["pruned"]
    assert kube_api.get("Secret", "shop", team.secret) is None
    assert kube_api.get("Deployment", "shop", "api") is not None


async def test_a_teardown_takes_the_pull_secret_and_then_the_namespace(
    kube_api: Any, gql: GraphQLClient
) -> None:
    team = await Team(gql, kube_api).setup()
    nodes = [
        node("ns", "Namespace", name="api"),
        node("api", "Deployment", name="api", image=f"{HOST}/api:2"),
    ]
    wf = await team.workflow("api", "api", nodes)
    await team.run(wf)
    assert kube_api.get("Secret", "api", team.secret) is not None

    removed = await team.delete(wf)

    assert removed == 3  # the Deployment, the Namespace and the pull Secret
    assert kube_api.get("Secret", "api", team.secret) is None
    assert kube_api.get("Namespace", None, "api") is None  # the Secret no longer holds it back


async def test_deleting_a_registry_deletes_its_pull_secrets_where_it_can(
    kube_api: Any, gql: GraphQLClient
) -> None:
    team = await Team(gql, kube_api).setup()
    for space in ("shop", "api"):
        nodes = [
            node("ns", "Namespace", name=space),
            node("w", "Deployment", name="w", image=f"{HOST}/{space}:1"),
        ]
        await team.run(await team.workflow(space, space, nodes))
    other = kube_api.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": team.secret, "namespace": "default"},
            "stringData": {"token": "not ours"},
        }
    )  # the same name elsewhere, never recorded: left alone
    kube_api.forbid("delete", "secrets", "api")

    await gql.ok(DELETE_REGISTRY, {"id": team.registry}, token=team.token)

    assert kube_api.get("Secret", "shop", team.secret) is None
    assert kube_api.get("Secret", "api", team.secret) is not None  # RBAC said no: it stays, and it is said
    assert kube_api.get("Secret", "default", team.secret)["metadata"]["uid"] == other["metadata"]["uid"]
    (event,) = (await gql.ok(AUDIT, {"ws": team.workspace}, token=team.token))["auditEvents"]["nodes"]
    detail = {d["key"]: d["value"] for d in event["detail"]}
    assert event["outcome"] == "SUCCESS"
    assert detail["pullSecretsDeleted"] == "1"
    assert detail["pullSecretsNotDeleted"].startswith("test/api: ")  # the cluster's name, the namespace
