"""Contract: Git imports — inserted in a workspace, read only in scope, saved while unfinished (a finished
import is final), stale unfinished ones failed by a sweep; the analysis round-trips without secret values,
whose ciphertext is kept beside the import (read on its own, in scope) and rewritten by ``reencrypt``."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from app.domain.imports import (
    GitImport,
    ImportAnalysis,
    ImportLogLine,
    ImportOptions,
    ImportProblem,
    ImportSource,
    ImportStatus,
)
from app.domain.workflows import Canvas, Edge, Node, Position
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from app.store.opening import open_store
from app.store.sqlite import MIGRATIONS, open_sqlite
from tests.store.builders import Make


def an_import(make: Make, workspace_id: str, **overrides: object) -> GitImport:
    at = make.at()
    fields: dict[str, object] = {
        "id": make.id("imp"),
        "workspace_id": workspace_id,
        "created_by": "user-1",
        "url": "https://git.example.com/acme/shop.git",
        "ref": "main",
        "path": None,
        "options": ImportOptions(profiles=("debug",), namespace="shop"),
        "status": ImportStatus.PENDING,
        "created_at": at,
        "updated_at": at,
    }
    fields.update(overrides)
    return GitImport(**fields)  # type: ignore[arg-type]


def an_analysis() -> ImportAnalysis:
    canvas = Canvas(
        nodes=(
            Node(
                "web",
                "Deployment",
                Position(700, 100),
                {"name": "web", "labels": {"app.kubernetes.io/x": "1"}},
            ),
            Node("web-secrets", "Secret", Position(100, 100), {"name": "web-secrets", "$ref": "kept"}),
        ),
        edges=(Edge("e-1", "web-secrets", "web"),),
    )
    return ImportAnalysis(
        source=ImportSource.COMPOSE,
        folder="deploy",
        files=("deploy/compose.yaml", "deploy/compose.override.yml"),
        services=("web",),
        volumes=("data",),
        networks=("default",),
        configs=(),
        secrets=("token",),
        canvas=canvas,
        secret_keys={"web-secrets": ("API_KEY", "DB_PASSWORD")},
        warnings=(
            ImportProblem(
                "BIND_MOUNT_NOT_SUPPORTED", "bind mounts — grüß dich ✓", "web", "services.web.volumes[0]"
            ),
        ),
        errors=(),
    )


async def test_an_import_round_trips_with_its_analysis(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    east = timezone(timedelta(hours=2))
    job = an_import(make, workspace.id)
    await store.insert_import(job)
    assert await store.get_import(scope, job.id) == job

    done = replace(
        job.logged(ImportLogLine(make.at().astimezone(east), "INFO", "checked out 12 files")),
        status=ImportStatus.COMPLETED,
        percent=100,
        commit="a" * 40,
        message="imported deploy",
        analysis=an_analysis(),
        updated_at=make.at(),
        revision=4,
    )
    await store.save_import(done)

    stored = await store.get_import(scope, job.id)
    assert stored == done
    assert stored is not None and stored.logs[0].at.utcoffset() == timedelta(0)


async def test_candidates_and_failures_are_kept(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    job = an_import(make, workspace.id, ref=None, path="apps")
    await store.insert_import(job)
    picked = replace(job, status=ImportStatus.COMPLETED, candidates=("apps/a", "apps/b"), message="pick one")
    await store.save_import(picked)
    assert await store.get_import(scope, job.id) == picked

    other = an_import(make, workspace.id)
    await store.insert_import(other)
    failed = replace(other, status=ImportStatus.FAILED, error="authentication failed", percent=5)
    await store.save_import(failed)
    assert await store.get_import(scope, other.id) == failed


async def test_another_workspaces_import_is_not_visible(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    _, _, outsider = await make.tenant(store)
    job = an_import(make, workspace.id)
    await store.insert_import(job)

    assert await store.get_import(outsider, job.id) is None
    assert await store.get_import(Scope.of([]), job.id) is None
    assert await store.get_import(scope, "no-such-import") is None


async def test_insert_refuses_an_unknown_workspace_and_a_taken_id(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    with pytest.raises(NotFound):
        await store.insert_import(an_import(make, "no-such-workspace"))
    job = an_import(make, workspace.id)
    await store.insert_import(job)
    with pytest.raises(Conflict):
        await store.insert_import(replace(job, url="https://elsewhere.example.com/x.git"))
    assert await store.get_import(scope, job.id) == job


async def test_a_finished_import_is_final(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    job = an_import(make, workspace.id)
    await store.insert_import(job)
    failed = replace(job, status=ImportStatus.FAILED, error="the server stopped")
    await store.save_import(failed)

    with pytest.raises(Conflict) as raised:
        await store.save_import(replace(job, status=ImportStatus.ANALYZING, percent=80))
    assert raised.value.details == {"importId": job.id, "status": "FAILED"}
    assert await store.get_import(scope, job.id) == failed
    with pytest.raises(NotFound):
        await store.save_import(an_import(make, workspace.id))


async def test_a_sweep_fails_only_stale_unfinished_imports(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    stale = an_import(make, workspace.id, status=ImportStatus.CLONING)
    pending = an_import(make, workspace.id)
    finished = an_import(make, workspace.id, status=ImportStatus.COMPLETED)
    cutoff = make.at()
    fresh = an_import(make, workspace.id, status=ImportStatus.ANALYZING)
    for job in (stale, pending, finished, fresh):
        await store.insert_import(job)
    at = make.at()

    failed = await store.fail_stale_imports(updated_before=cutoff, at=at, reason="the server stopped")

    assert [job.id for job in failed] == [stale.id, pending.id]
    for job in failed:
        assert job.status is ImportStatus.FAILED
        assert job.error == "the server stopped"
        assert job.updated_at == at
        assert job.revision == 1
        assert job.logs[-1].message == "the server stopped"
        assert await store.get_import(scope, job.id) == job
    assert await store.get_import(scope, finished.id) == finished
    assert await store.get_import(scope, fresh.id) == fresh
    assert await store.fail_stale_imports(updated_before=cutoff, at=at, reason="again") == []


async def test_step_7_adds_imports_to_a_database_at_step_6(tmp_path: Path, make: Make) -> None:
    path = tmp_path / "trellis.db"
    old = await open_sqlite(str(path), migrations=[step for step in MIGRATIONS if step.number <= 6])
    try:
        _, workspace, scope = await make.tenant(old)
    finally:
        await old.close()
    store = await open_store(f"sqlite:///{path}")
    try:
        assert 7 in await store.applied_migrations()  # type: ignore[attr-defined]
        job = an_import(make, workspace.id)
        await store.insert_import(job)
        assert await store.get_import(scope, job.id) == job
    finally:
        await store.close()


async def test_secret_values_are_kept_beside_the_import_never_in_it(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    _, _, outsider = await make.tenant(store)
    job = an_import(make, workspace.id)
    await store.insert_import(job)
    analysing = replace(job, status=ImportStatus.ANALYZING, percent=80, revision=1)
    await store.save_import(analysing)
    assert await store.import_secret_values(scope, job.id) is None

    done = replace(analysing, status=ImportStatus.COMPLETED, analysis=an_analysis(), revision=2)
    await store.save_import(done, secret_values="sealed-values")

    assert await store.get_import(scope, job.id) == done
    assert await store.import_secret_values(scope, job.id) == "sealed-values"
    assert await store.import_secret_values(outsider, job.id) is None
    assert await store.import_secret_values(scope, "no-such-import") is None
    with pytest.raises(Conflict):  # final: the values cannot be replaced either
        await store.save_import(done, secret_values="other")
    assert await store.import_secret_values(scope, job.id) == "sealed-values"


async def test_reencrypt_rewrites_the_secret_values_of_imports(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    with_values = an_import(make, workspace.id)
    without = an_import(make, workspace.id)
    for job in (with_values, without):
        await store.insert_import(job)
    done = replace(with_values, status=ImportStatus.COMPLETED, analysis=an_analysis(), revision=1)
    await store.save_import(done, secret_values="old-values")
    await store.save_import(replace(without, status=ImportStatus.COMPLETED, analysis=an_analysis()))
    await store.insert_cluster(make.cluster(workspace.id, credentials_ciphertext="old-cluster"))

    count = await store.reencrypt(lambda text: text.replace("old", "new"))

    assert count == 2
    assert await store.import_secret_values(scope, with_values.id) == "new-values"
    assert await store.import_secret_values(scope, without.id) is None
    assert await store.get_import(scope, with_values.id) == done


async def test_reencrypt_of_import_values_is_all_or_nothing(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    job = an_import(make, workspace.id)
    await store.insert_import(job)
    await store.save_import(replace(job, status=ImportStatus.COMPLETED), secret_values="broken")
    await store.insert_cluster(make.cluster(workspace.id, credentials_ciphertext="fine"))

    def transform(text: str) -> str:
        if text == "broken":
            raise ValueError("no key decrypts this")
        return "rotated"

    with pytest.raises(ValueError, match="no key"):
        await store.reencrypt(transform)

    assert await store.import_secret_values(scope, job.id) == "broken"
    assert [c.credentials_ciphertext for c in await store.list_clusters(scope)] == ["fine"]
