"""Contract: clusters — names unique per workspace (case-insensitively), scoping, probes, removal."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta, timezone

import pytest

from app.domain.clusters import ClusterAuthType
from app.domain.workspaces import MemberRole, Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from tests.store.builders import Make


async def test_a_cluster_round_trips_with_its_opaque_ciphertext(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    cluster = make.cluster(
        workspace.id,
        "Prod EU ✓",
        auth_type=ClusterAuthType.KUBECONFIG,
        credentials_ciphertext="v1:kid-2:" + "A" * 4000,
        created_at=make.at().astimezone(timezone(timedelta(hours=-7))),
    )

    await store.insert_cluster(cluster)

    stored = await store.get_cluster(scope, cluster.id)
    assert stored == cluster
    assert stored is not None
    assert stored.last_probe is None
    assert stored.auth_type is ClusterAuthType.KUBECONFIG
    assert stored.credentials_ciphertext == cluster.credentials_ciphertext
    assert await store.get_cluster(scope, "no-such-cluster") is None


async def test_names_are_unique_per_workspace_whatever_the_case(store: Store, make: Make) -> None:
    user, workspace = await make.register(store)
    team = make.workspace(user.id, "Team")
    await store.create_workspace(team, make.membership(team.id, user.id, MemberRole.OWNER))
    await store.insert_cluster(make.cluster(workspace.id, "Ärger Prod"))

    with pytest.raises(Conflict, match="name"):
        await store.insert_cluster(make.cluster(workspace.id, "ärger PROD"))
    await store.insert_cluster(make.cluster(team.id, "ärger PROD"))  # another workspace may use it
    await store.insert_cluster(make.cluster(workspace.id, "Ärger Prod 2"))

    both = Scope.of([workspace.id, team.id])
    assert sorted(c.name for c in await store.list_clusters(both)) == [
        "Ärger Prod",
        "Ärger Prod 2",
        "ärger PROD",
    ]


async def test_insert_refuses_an_unknown_workspace_or_a_taken_id(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    cluster = make.cluster(workspace.id)
    await store.insert_cluster(cluster)

    with pytest.raises(NotFound):
        await store.insert_cluster(make.cluster("no-such-workspace"))
    with pytest.raises(Conflict, match="id"):
        await store.insert_cluster(make.cluster(workspace.id, "Other", id=cluster.id))
    assert await store.list_clusters(scope) == [cluster]


async def test_concurrent_inserts_of_one_name_leave_one_cluster(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)

    names = ["staging", "STAGING", "Staging"] * 2

    results = await asyncio.gather(
        *(store.insert_cluster(make.cluster(workspace.id, name)) for name in names), return_exceptions=True
    )

    assert sum(result is None for result in results) == 1
    assert all(isinstance(result, Conflict) for result in results if result is not None)
    assert len(await store.list_clusters(scope)) == 1


async def test_list_is_by_name_and_can_be_narrowed_to_one_workspace(store: Store, make: Make) -> None:
    user, personal, _ = await make.tenant(store)
    team = make.workspace(user.id, "Team")
    await store.create_workspace(team, make.membership(team.id, user.id, MemberRole.OWNER))
    scope = Scope.of([personal.id, team.id])
    for workspace_id, name in [
        (personal.id, "zeta"),
        (team.id, "Alpha"),
        (personal.id, "beta"),
        (team.id, "Gamma"),
    ]:
        await store.insert_cluster(make.cluster(workspace_id, name))

    assert [c.name for c in await store.list_clusters(scope)] == ["Alpha", "beta", "Gamma", "zeta"]
    assert [c.name for c in await store.list_clusters(scope, team.id)] == ["Alpha", "Gamma"]
    assert [c.name for c in await store.list_clusters(scope, personal.id)] == ["beta", "zeta"]
    assert await store.list_clusters(scope, "no-such-workspace") == []


async def test_clusters_outside_the_scope_look_missing(store: Store, make: Make) -> None:
    _, mine, my_scope = await make.tenant(store)
    _, theirs, their_scope = await make.tenant(store)
    their_cluster = make.cluster(theirs.id, "Theirs")
    await store.insert_cluster(their_cluster)
    await store.insert_cluster(make.cluster(mine.id, "Mine"))

    assert await store.get_cluster(my_scope, their_cluster.id) is None
    assert await store.get_cluster(Scope.of([]), their_cluster.id) is None
    assert [c.name for c in await store.list_clusters(my_scope)] == ["Mine"]
    assert await store.list_clusters(my_scope, theirs.id) == []
    assert await store.list_clusters(Scope.of([])) == []
    with pytest.raises(NotFound):
        await store.replace_cluster(my_scope, replace(their_cluster, name="Hijacked"))
    with pytest.raises(NotFound):
        await store.delete_cluster(my_scope, their_cluster.id)
    assert await store.get_cluster(their_scope, their_cluster.id) == their_cluster


async def test_replace_changes_name_description_and_credentials_only(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    _, other, _ = await make.tenant(store)
    cluster = make.cluster(workspace.id, "Prod")
    await store.insert_cluster(cluster)
    probe = make.probe()
    await store.record_probe(cluster.id, probe)
    changed = replace(
        cluster,
        name="Production",
        description="renamed",
        auth_type=ClusterAuthType.CLIENT_CERTIFICATE,
        server="https://10.0.0.1:6443",
        credentials_ciphertext="new-ciphertext",
        updated_at=make.at(),
        # the identity and the probe are not the caller's to change
        workspace_id=other.id,
        created_by="someone",
        created_at=make.at(),
        last_probe=None,
    )

    await store.replace_cluster(scope, changed)

    stored = await store.get_cluster(scope, cluster.id)
    assert stored == replace(
        changed,
        workspace_id=cluster.workspace_id,
        created_by=cluster.created_by,
        created_at=cluster.created_at,
        last_probe=probe,
    )


async def test_replace_refuses_a_taken_name_but_not_its_own(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    prod, staging = make.cluster(workspace.id, "Prod"), make.cluster(workspace.id, "Staging")
    await store.insert_cluster(prod)
    await store.insert_cluster(staging)

    with pytest.raises(Conflict, match="name"):
        await store.replace_cluster(scope, replace(staging, name="PROD"))
    assert await store.get_cluster(scope, staging.id) == staging

    await store.replace_cluster(scope, replace(prod, name="PROD"))  # a change of case only
    assert [c.name for c in await store.list_clusters(scope)] == ["PROD", "Staging"]
    with pytest.raises(NotFound):
        await store.replace_cluster(scope, make.cluster(workspace.id, "Never inserted"))


async def test_record_probe_keeps_the_last_probe(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    cluster = make.cluster(workspace.id)
    await store.insert_cluster(cluster)
    failed = make.probe(reachable=False, checked_at=make.at().astimezone(timezone(timedelta(hours=9))))
    succeeded = make.probe()

    await store.record_probe(cluster.id, failed)
    assert (await store.get_cluster(scope, cluster.id)) == replace(cluster, last_probe=failed)
    await store.record_probe(cluster.id, succeeded)

    stored = await store.get_cluster(scope, cluster.id)
    assert stored is not None
    assert stored.last_probe == succeeded
    assert (stored.last_probe.reachable, stored.last_probe.server_version, stored.last_probe.reason) == (
        True,
        "v1.30.2",
        None,
    )
    await store.record_probe("no-such-cluster", failed)  # a cluster removed meanwhile: ignored
    assert await store.list_clusters(scope) == [stored]


async def test_delete_removes_only_that_cluster_and_frees_its_name(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    prod, staging = make.cluster(workspace.id, "Prod"), make.cluster(workspace.id, "Staging")
    await store.insert_cluster(prod)
    await store.insert_cluster(staging)

    await store.delete_cluster(scope, prod.id)

    assert await store.get_cluster(scope, prod.id) is None
    assert await store.list_clusters(scope) == [staging]
    with pytest.raises(NotFound):
        await store.delete_cluster(scope, prod.id)
    await store.insert_cluster(make.cluster(workspace.id, "prod"))


async def test_deleting_a_workflow_leaves_its_cluster_alone(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    cluster = make.cluster(workspace.id)
    await store.insert_cluster(cluster)
    workflow = make.workflow(workspace.id, cluster_id=cluster.id)
    await store.insert_workflow(workflow)
    await store.start_run(scope, make.draft(), make.run(workflow, cluster_id=cluster.id))

    await store.delete_workflow(scope, workflow.id)

    assert await store.get_cluster(scope, cluster.id) == cluster
