"""git's progress lines become a phase, a percentage and bytes received."""

from __future__ import annotations

from app.git.progress import parse_progress, split_lines


def test_receiving_objects_with_and_without_a_size() -> None:
    early = parse_progress("Receiving objects:  45% (9/20)")
    later = parse_progress("Receiving objects:  90% (18/20), 1.50 MiB | 1.49 MiB/s")
    done = parse_progress("Receiving objects: 100% (20/20), 512.00 KiB | 2.00 MiB/s, done.")
    assert early is not None and (early.phase, early.percent, early.overall, early.received_bytes) == (
        "Receiving objects",
        45,
        38,
        None,
    )
    assert later is not None and later.received_bytes == 1_572_864
    assert done is not None and (done.overall, done.received_bytes) == (85, 524_288)


def test_later_phases_fill_the_rest() -> None:
    deltas = parse_progress("Resolving deltas:  50% (1/2)")
    files = parse_progress("Updating files: 100% (3/3), done.")
    assert deltas is not None and deltas.overall == 90
    assert files is not None and files.overall == 100


def test_other_lines_are_not_progress() -> None:
    for line in ("remote: Counting objects: 100% (6/6), done.", "fatal: repository not found", "", "From x"):
        assert parse_progress(line) is None


def test_carriage_returns_split_updates_of_one_line() -> None:
    lines, rest = split_lines("Receiving objects:  10% (1/10)\rReceiving objects:  20% (2/10)\rReceiv")
    assert lines == ["Receiving objects:  10% (1/10)", "Receiving objects:  20% (2/10)"]
    assert rest == "Receiv"
