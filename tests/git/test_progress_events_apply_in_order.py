"""An import's progress events carry each change, so a stream applies them in order and notices a gap."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from app.domain.imports import (
    GitImport,
    ImportLogLine,
    ImportOptions,
    ImportStatus,
    apply_progress,
    progress_payload,
)

T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def recorded() -> GitImport:
    return GitImport(
        id="imp-1",
        workspace_id="ws-1",
        created_by="u-1",
        url="https://git.example.com/a/b.git",
        ref=None,
        path=None,
        options=ImportOptions(),
        status=ImportStatus.PENDING,
        created_at=T0,
        updated_at=T0,
    ).logged(ImportLogLine(T0, "INFO", "queued"))


def test_each_change_applies_on_top_of_the_last() -> None:
    job = recorded()
    cloning = replace(job, status=ImportStatus.CLONING, percent=5, revision=1).logged(
        ImportLogLine(T0, "INFO", "cloning")
    )
    done = replace(
        cloning,
        status=ImportStatus.COMPLETED,
        percent=100,
        revision=2,
        commit="a" * 40,
        candidates=("x", "y"),
    ).logged(ImportLogLine(T0, "INFO", "done"))

    step1 = apply_progress(job, progress_payload(cloning, 1))
    step2 = apply_progress(cloning, progress_payload(done, 1)) if step1 else None

    assert step1 == cloning
    assert step2 == done


def test_a_missed_or_repeated_change_is_not_applied() -> None:
    job = recorded()
    later = replace(job, status=ImportStatus.ANALYZING, revision=2)
    assert apply_progress(job, progress_payload(later, 0)) is None  # revision 1 was missed
    assert apply_progress(later, progress_payload(later, 0)) is None  # already seen
    assert apply_progress(job, {"revision": 1, "status": "NOPE"}) is None
    assert apply_progress(job, {}) is None
