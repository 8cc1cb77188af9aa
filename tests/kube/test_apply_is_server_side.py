"""apply is server-side apply with the caller's field manager: create, no-op, prune fields, conflicts
reported (never forced), dry runs that store nothing, and objects the API server rejects."""

from __future__ import annotations

import asyncio

import pytest

from app import errors
from app.kube import KubeSession
from app.kube.errors import KubeApplyConflict, KubeInvalid, KubeUnknownKind
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap, deployment

MANAGER = "trellis-wf1"


def _patches(server: KubeApiServer) -> list[dict[str, str]]:
    return [r.query for r in server.requests if r.method == "PATCH"]


async def test_apply_creates_with_the_field_manager(kube_api: KubeApiServer, session: KubeSession) -> None:
    applied = await session.apply(deployment("web", replicas=3), field_manager=MANAGER)
    assert applied["kind"] == "Deployment" and applied["spec"]["replicas"] == 3
    assert applied["metadata"]["uid"] and applied["metadata"]["resourceVersion"]
    managers = {(e["manager"], e["operation"]) for e in applied["metadata"]["managedFields"]}
    assert managers == {(MANAGER, "Apply")}
    stored = kube_api.get("Deployment", "default", "web")
    assert stored is not None and stored["metadata"]["uid"] == applied["metadata"]["uid"]
    (query,) = _patches(kube_api)
    assert query == {"fieldManager": MANAGER}  # no force, no dryRun


async def test_applying_the_same_object_again_changes_nothing(session: KubeSession) -> None:
    first = await session.apply(deployment("web"), field_manager=MANAGER)
    second = await session.apply(deployment("web"), field_manager=MANAGER)
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert second["metadata"]["generation"] == first["metadata"]["generation"]


async def test_a_field_no_longer_sent_is_removed(kube_api: KubeApiServer, session: KubeSession) -> None:
    await session.apply(configmap("settings", data={"a": "1", "b": "2"}), field_manager=MANAGER)
    applied = await session.apply(configmap("settings", data={"a": "1"}), field_manager=MANAGER)
    assert applied["data"] == {"a": "1"}
    stored = kube_api.get("ConfigMap", "default", "settings")
    assert stored is not None and stored["data"] == {"a": "1"}


async def test_a_conflict_with_another_manager_is_reported_not_forced(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    kube_api.apply(deployment("web", replicas=5), manager="kubectl-client-side-apply")
    before = kube_api.get("Deployment", "default", "web")
    with pytest.raises(errors.Conflict) as caught:
        await session.apply(deployment("web", replicas=2), field_manager=MANAGER)
    err = caught.value
    assert isinstance(err, KubeApplyConflict)
    assert err.managers == ("kubectl-client-side-apply",)
    assert err.fields == (".spec.replicas",)
    assert err.details["causes"] == [
        {"field": ".spec.replicas", "message": 'conflict with "kubectl-client-side-apply"'}
    ]
    assert err.details["reason"] == "Conflict"
    assert "kubectl-client-side-apply" in err.message and ".spec.replicas" in err.message
    assert err.extensions()["code"] == "CONFLICT"
    assert all("force" not in q for q in _patches(kube_api))
    after = kube_api.get("Deployment", "default", "web")
    assert after == before  # nothing taken over


async def test_dry_run_answers_without_storing(kube_api: KubeApiServer, session: KubeSession) -> None:
    answered = await session.apply(deployment("web"), field_manager=MANAGER, dry_run=True)
    assert answered["metadata"]["name"] == "web" and answered["spec"]["replicas"] == 2
    assert kube_api.get("Deployment", "default", "web") is None
    (query,) = _patches(kube_api)
    assert query == {"fieldManager": MANAGER, "dryRun": "All"}


async def test_an_object_the_api_server_rejects_is_invalid_with_its_message(session: KubeSession) -> None:
    bad = deployment("web")
    bad["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(errors.Invalid) as caught:
        await session.apply(bad, field_manager=MANAGER)
    err = caught.value
    assert isinstance(err, KubeInvalid) and err.status == 422 and err.reason == "Invalid"
    assert err.message.startswith('Deployment.apps "web" is invalid: ')
    assert "spec.template.metadata.labels" in [f.path for f in err.fields]


async def test_an_invalid_name_is_invalid(session: KubeSession) -> None:
    with pytest.raises(errors.Invalid) as caught:
        await session.apply(configmap("Not_A_Name"), field_manager=MANAGER)
    assert [f.path for f in caught.value.fields] == ["metadata.name"]
    assert "RFC 1123" in caught.value.fields[0].message


async def test_a_kind_the_cluster_does_not_serve_is_invalid(session: KubeSession) -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    with pytest.raises(KubeUnknownKind, match=r"serves no kind 'Widget' in 'example\.com/v1'"):
        await session.apply(widget, field_manager=MANAGER)
    unknown_in_core = {"apiVersion": "v1", "kind": "Widget", "metadata": {"name": "w"}}
    with pytest.raises(errors.Invalid):
        await session.apply(unknown_in_core, field_manager=MANAGER)


async def test_a_manifest_without_identity_is_refused_before_any_request(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    kube_api.clear_requests()
    for manifest, field in (
        ({"kind": "ConfigMap", "metadata": {"name": "x"}}, "apiVersion"),
        ({"apiVersion": "v1", "metadata": {"name": "x"}}, "kind"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}, "metadata.name"),
    ):
        with pytest.raises(errors.Invalid) as caught:
            await session.apply(manifest, field_manager=MANAGER)
        assert [f.path for f in caught.value.fields] == [field]
    with pytest.raises(errors.Invalid):
        await session.apply(configmap("x"), field_manager="")
    assert kube_api.requests == []


async def test_a_missing_namespace_is_not_found(session: KubeSession) -> None:
    with pytest.raises(errors.NotFound, match="namespaces 'nowhere' was not found"):
        await session.apply(configmap("c", namespace="nowhere"), field_manager=MANAGER)


async def test_cluster_scoped_objects_apply_without_a_namespace(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"team": "a"}}}
    applied = await session.apply(ns, field_manager=MANAGER)
    assert applied["metadata"]["labels"]["team"] == "a"
    assert [r.path for r in kube_api.requests if r.method == "PATCH"] == ["/api/v1/namespaces/shop"]


async def test_discovery_is_asked_once_per_group_version(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    kube_api.clear_requests()
    await session.apply(deployment("a"), field_manager=MANAGER)
    await session.apply(deployment("b"), field_manager=MANAGER)
    await session.apply(configmap("c"), field_manager=MANAGER)
    assert [r.path for r in kube_api.requests if r.method == "GET"] == ["/apis/apps/v1", "/api/v1"]


async def test_concurrent_applies_share_one_discovery(kube_api: KubeApiServer, session: KubeSession) -> None:
    kube_api.clear_requests()
    names = [f"web-{i}" for i in range(6)]
    applied = await asyncio.gather(*(session.apply(deployment(n), field_manager=MANAGER) for n in names))
    assert sorted(a["metadata"]["name"] for a in applied) == names
    assert [r.path for r in kube_api.requests if r.method == "GET"] == ["/apis/apps/v1"]


async def test_a_namespaced_object_without_namespace_goes_to_the_default_one(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    bare = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bare"}, "data": {"a": "1"}}
    applied = await session.apply(bare, field_manager=MANAGER)
    assert applied["metadata"]["namespace"] == "default"
    assert bare["metadata"] == {"name": "bare"}  # the caller's manifest is left alone
    got = await session.get("v1", "ConfigMap", "bare", None)
    assert got is not None and got["data"] == {"a": "1"}
