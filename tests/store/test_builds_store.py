"""Contract: builds — inserted in a workspace, read only in scope, listed newest first with filters and
keyset pages; queued builds claimed oldest first under the per-workspace and per-cluster limits (never
twice, also by concurrent claims); saves only by the owner while unfinished; stale builds taken over;
cancel is final; the Secret clean-up list; one node's image set at the current revision without losing
a concurrent edit."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.domain.builds import Build, BuildFilter, BuildStage, BuildStatus, LogSource
from app.domain.workflows import Workflow
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from app.store.sqlite import MIGRATIONS, open_sqlite
from tests.store.builders import Backend, Make


def a_build(make: Make, workspace_id: str, **overrides: Any) -> Build:
    at = overrides.pop("created_at", None) or make.at()
    fields: dict[str, Any] = {
        "id": make.id("build"),
        "workspace_id": workspace_id,
        "created_by": "user-1",
        "cluster_id": "cluster-1",
        "registry_id": "registry-1",
        "repo_url": "https://git.example.com/acme/shop.git",
        "ref": "main",
        "context_path": "app",
        "dockerfile_path": "Dockerfile",
        "use_nixpacks": False,
        "target": "runtime",
        "build_args": (("VERSION", "1.2 ✓"), ("EMPTY", "")),
        "image_repository": "ghcr.io/acme/shop",
        "image_name": "acme/shop",
        "image_tag": "v1",
        "status": BuildStatus.PENDING,
        "created_at": at,
        "updated_at": at,
        "workflow_id": "wf-1",
        "node_id": "web",
    }
    fields.update(overrides)
    return Build(**fields)


async def test_a_build_round_trips_and_is_scoped(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    build = a_build(make, workspace.id)
    build = build.logged([(make.at(), LogSource.TRELLIS, 'queued — "grüß dich" ✓')], max_lines=10)
    await store.insert_build(build)
    assert await store.get_build(scope, build.id) == build
    assert await store.get_build(Scope.of(["elsewhere"]), build.id) is None
    with pytest.raises(Conflict):  # a taken id is a conflict
        await store.insert_build(build)
    with pytest.raises(NotFound):  # an unknown workspace is not found
        await store.insert_build(a_build(make, "no-such-workspace"))


async def test_builds_are_listed_newest_first_with_filters_and_pages(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    builds = [
        a_build(make, workspace.id, workflow_id="wf-a" if i % 2 else "wf-b", status=status)
        for i, status in enumerate([BuildStatus.PENDING, BuildStatus.COMPLETED, BuildStatus.FAILED] * 2)
    ]
    for build in builds:
        await store.insert_build(build)
    first = await store.list_builds(scope, workspace.id, BuildFilter(), 4, None)
    assert [b.id for b in first.items] == [b.id for b in reversed(builds)][:4]
    assert first.has_next and first.total == 6
    last = first.items[-1]
    rest = await store.list_builds(scope, workspace.id, BuildFilter(), 4, (last.created_at, last.id))
    assert [b.id for b in rest.items] == [b.id for b in reversed(builds)][4:]
    assert not rest.has_next
    done = await store.list_builds(scope, workspace.id, BuildFilter(status=BuildStatus.COMPLETED), 10, None)
    assert {b.id for b in done.items} == {builds[1].id, builds[4].id} and done.total == 2
    mine = await store.list_builds(scope, workspace.id, BuildFilter(workflow_id="wf-a"), 10, None)
    assert {b.id for b in mine.items} == {builds[1].id, builds[3].id, builds[5].id}
    hidden = await store.list_builds(Scope.of(["elsewhere"]), workspace.id, BuildFilter(), 10, None)
    assert hidden.items == [] and hidden.total == 0


async def test_queued_builds_start_oldest_first_within_the_limits(store: Store, make: Make) -> None:
    _, workspace, _ = await make.tenant(store)
    _, other, _ = await make.tenant(store)
    a1 = a_build(make, workspace.id, cluster_id="c-a")
    a2 = a_build(make, workspace.id, cluster_id="c-a")
    b1 = a_build(make, workspace.id, cluster_id="c-b")
    o1 = a_build(make, other.id, cluster_id="c-o")
    for build in (a1, a2, b1, o1):
        await store.insert_build(build)
    assert [b.id for b in await store.queued_builds(workspace.id)] == [a1.id, a2.id, b1.id]
    at = make.at()
    claimed = await store.claim_queued_builds(owner="server-a", at=at, per_workspace=2, per_cluster=1)
    # a2 waits for its cluster; b1 is not held back by it; the other workspace has its own limit.
    assert [b.id for b in claimed] == [a1.id, b1.id, o1.id]
    assert all(b.owner == "server-a" and b.started_at == at and b.heartbeat_at == at for b in claimed)
    assert [b.id for b in await store.queued_builds(workspace.id)] == [a2.id]
    assert await store.claim_queued_builds(owner="server-b", at=at, per_workspace=2, per_cluster=1) == []
    stored_a1 = await store.get_build(Scope.of([workspace.id]), a1.id)
    assert stored_a1 is not None
    await store.save_build(replace(stored_a1, status=BuildStatus.COMPLETED, finished_at=make.at()))
    again = await store.claim_queued_builds(owner="server-b", at=make.at(), per_workspace=2, per_cluster=1)
    assert [b.id for b in again] == [a2.id]


async def test_concurrent_claims_never_start_a_build_twice(backend: Backend, make: Make) -> None:
    one, two = await backend.open(), await backend.open()
    _, workspace, _ = await make.tenant(one)
    builds = [a_build(make, workspace.id, cluster_id=f"c-{i}") for i in range(6)]
    for build in builds:
        await one.insert_build(build)
    at = make.at()
    results = await asyncio.gather(
        *(
            store.claim_queued_builds(owner=name, at=at, per_workspace=4, per_cluster=1)
            for store, name in ((one, "server-a"), (two, "server-b"), (one, "server-c"))
        )
    )
    claimed = [b.id for result in results for b in result]
    assert len(claimed) == len(set(claimed)) == 4


async def test_only_the_owner_saves_and_a_finished_build_is_final(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    await store.insert_build(a_build(make, workspace.id))
    (build,) = await store.claim_queued_builds(owner="server-a", at=make.at(), per_workspace=1, per_cluster=1)
    progressed = replace(
        build.logged([(make.at(), LogSource.BUILDKIT, "#5 [2/4] RUN make")], max_lines=10),
        status=BuildStatus.PUSHING,
        percent=75,
        commit="a" * 40,
        lines_seen={"buildkit": 1},
        revision=build.revision + 1,
    )
    await store.save_build(progressed)
    assert await store.get_build(scope, build.id) == progressed
    with pytest.raises(Conflict) as raised:  # another process's save is refused
        await store.save_build(replace(progressed, owner="server-b"))
    assert raised.value.details["owner"] == "server-a"
    failed = replace(progressed, status=BuildStatus.FAILED, error_stage=BuildStage.PUSH, message="401")
    await store.save_build(failed)
    with pytest.raises(Conflict) as raised:  # a finished build is final
        await store.save_build(replace(failed, status=BuildStatus.COMPLETED))
    assert raised.value.details["status"] == "FAILED"
    with pytest.raises(NotFound):  # a missing build is not found
        await store.save_build(a_build(make, workspace.id))


async def test_stale_builds_are_taken_over(store: Store, make: Make) -> None:
    _, workspace, _ = await make.tenant(store)
    for _ in range(2):
        await store.insert_build(a_build(make, workspace.id, cluster_id=make.id("c")))
    old, fresh = await store.claim_queued_builds(owner="gone", at=make.at(), per_workspace=5, per_cluster=5)
    now = make.at(600)
    await store.save_build(replace(fresh, heartbeat_at=now))
    taken = await store.claim_stale_builds(
        owner="server-b", at=now, heartbeat_before=now - timedelta(seconds=30)
    )
    assert [(b.id, b.owner, b.heartbeat_at) for b in taken] == [(old.id, "server-b", now)]
    assert (
        await store.claim_stale_builds(owner="server-c", at=now, heartbeat_before=now - timedelta(seconds=30))
        == []
    )


async def test_cancel_ends_an_unfinished_build_once(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    queued = a_build(make, workspace.id)
    await store.insert_build(queued)
    at = make.at()
    ended = await store.cancel_build(scope, queued.id, at=at, message="cancelled by ada@example.com")
    assert ended.status is BuildStatus.CANCELLED
    assert ended.finished_at == at
    assert ended.secret_deleted  # a queued build made no Secret
    assert ended.logs[-1].message == "cancelled by ada@example.com"
    assert await store.get_build(scope, queued.id) == ended
    assert await store.queued_builds(workspace.id) == []
    with pytest.raises(Conflict) as raised:  # a finished build cannot be cancelled
        await store.cancel_build(scope, queued.id, at=at, message="again")
    assert raised.value.details["status"] == "CANCELLED"
    with pytest.raises(NotFound):  # outside the scope, the build is not found
        await store.cancel_build(Scope.of(["elsewhere"]), queued.id, at=at, message="x")


async def test_finished_builds_with_a_secret_are_listed_for_clean_up(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    await store.insert_build(a_build(make, workspace.id))
    (build,) = await store.claim_queued_builds(owner="s", at=make.at(), per_workspace=1, per_cluster=1)
    assert await store.builds_to_clean(10) == []  # still running
    done = replace(build, status=BuildStatus.COMPLETED, finished_at=make.at(), digest="sha256:" + "0" * 64)
    await store.save_build(done)
    assert [b.id for b in await store.builds_to_clean(10)] == [build.id]
    await store.mark_build_cleaned(build.id)
    assert await store.builds_to_clean(10) == []
    stored = await store.get_build(scope, build.id)
    assert stored is not None and stored.secret_deleted


async def test_a_node_image_is_set_at_the_current_revision(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    # Another edit lands first: the image is set on top of it, the revision bumped again.
    edited = replace(workflow, description="edited", revision=workflow.revision + 1)
    await store.replace_workflow(scope, edited, workflow.revision)
    at = make.at()
    stored = await store.set_node_image(
        workspace.id, workflow.id, "n1", "ghcr.io/acme/shop@sha256:" + "1" * 64, at
    )
    assert stored is not None
    assert stored.revision == workflow.revision + 2
    assert stored.description == "edited"
    assert stored.updated_at == at
    nodes = {n.id: n for n in stored.canvas.nodes}
    assert nodes["n1"].data["image"] == "ghcr.io/acme/shop@sha256:" + "1" * 64
    assert nodes["n1"].data["replicas"] == 3  # the rest of the node is kept
    assert nodes["n2"].data == {"port": 80}
    assert await store.get_workflow(scope, workflow.id) == stored
    assert await store.set_node_image(workspace.id, workflow.id, "gone", "x", at) is None
    assert await store.set_node_image(workspace.id, "no-such-workflow", "n1", "x", at) is None
    assert await store.set_node_image("other-workspace", workflow.id, "n1", "x", at) is None


async def test_node_images_set_concurrently_with_edits_lose_nothing(backend: Backend, make: Make) -> None:
    one, two = await backend.open(), await backend.open()
    _, workspace, scope = await make.tenant(one)
    workflow = make.workflow(workspace.id)
    await one.insert_workflow(workflow)

    async def edit(index: int) -> None:
        for _ in range(20):
            current = await two.get_workflow(scope, workflow.id)
            assert current is not None
            try:
                await two.replace_workflow(
                    scope,
                    replace(
                        current, description=f"{current.description}+{index}", revision=current.revision + 1
                    ),
                    current.revision,
                )
                return
            except Conflict:
                await asyncio.sleep(0)
        raise AssertionError("the edit never landed")

    images = [f"ghcr.io/acme/shop@sha256:{i:064d}" for i in range(3)]
    results = await asyncio.gather(
        *(one.set_node_image(workspace.id, workflow.id, "n1", image, make.at()) for image in images),
        *(edit(i) for i in range(3)),
    )
    assert all(isinstance(result, Workflow) for result in results[:3])
    final = await one.get_workflow(scope, workflow.id)
    assert final is not None
    assert final.revision == workflow.revision + 6  # every write bumped it once
    assert sorted(final.description.split("+")[1:]) == ["0", "1", "2"]
    assert next(n for n in final.canvas.nodes if n.id == "n1").data["image"] in images


async def test_migration_9_adds_builds_to_a_database_of_step_8(tmp_path: Path, make: Make) -> None:
    path = str(tmp_path / "trellis.db")
    old = await open_sqlite(path, migrations=MIGRATIONS[:8])
    _, workspace, scope = await make.tenant(old)
    await old.close()
    assert MIGRATIONS[8].number == 9 and MIGRATIONS[8].name == "builds"
    store = await open_sqlite(path)
    try:
        assert await store.applied_migrations() == [step.number for step in MIGRATIONS]
        build = a_build(make, workspace.id)
        await store.insert_build(build)
        assert await store.get_build(scope, build.id) == build
    finally:
        await store.close()
