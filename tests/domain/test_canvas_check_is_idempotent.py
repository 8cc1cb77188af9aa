"""Property-like loops over the corpus: checking is idempotent and linked fields mirror the edges."""

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from app.domain.canvas_check import check_canvas
from app.domain.edges import NODE_LABEL, display_name
from app.domain.workflows import Canvas, Node
from tests.domain.corpus import CORPUS

CASES = pytest.mark.parametrize("name", list(CORPUS))


def linked_references(canvas: Canvas) -> Counter[tuple[str, str]]:
    """Every (source, target) pair the linked fields of ``canvas`` record, one per edge."""
    refs: Counter[tuple[str, str]] = Counter()
    for n in canvas.nodes:
        d = n.data
        if "_linkedDeployment" in d:
            refs[(n.id, d["_linkedDeployment"])] += 1
        if "_linkedTarget" in d:
            refs[(n.id, d["_linkedTarget"])] += 1
        for path in d.get("paths", []):
            if "_linkedService" in path:
                refs[(n.id, path["_linkedService"])] += 1
        for workload in d.get("_linkedWorkloads", []):
            refs[(n.id, workload)] += 1
        for key, peers in (("ingressRules", "from"), ("egressRules", "to")):
            for rule in d.get(key, []):
                for peer in rule.get(peers, []):
                    if "_linkedWorkload" in peer:
                        refs[(n.id, peer["_linkedWorkload"])] += 1
        for mount in d.get("volumeMounts", []):
            if "nodeId" in mount:
                refs[(mount["nodeId"], n.id)] += 1
    return refs


def assert_links_name_current_nodes(canvas: Canvas) -> None:
    by_id = {n.id: n for n in canvas.nodes}
    for n in canvas.nodes:
        d = n.data
        if "_linkedDeployment" in d:
            target = by_id[d["_linkedDeployment"]]
            assert d["targetApp"] == display_name(target)
            assert d.get("targetPort") == target.data.get("port")
        if "_linkedTarget" in d:
            target = by_id[d["_linkedTarget"]]
            assert (d["scaleTargetKind"], d["scaleTargetName"]) == (target.kind, display_name(target))
        for path in d.get("paths", []):
            if "_linkedService" in path:
                assert path["serviceName"] == display_name(by_id[path["_linkedService"]])
        for mount in d.get("volumeMounts", []):
            if "nodeId" in mount:
                source = by_id[mount["nodeId"]]
                assert mount["name"] == display_name(source)
                link_key = {
                    "ConfigMap": "_linkedConfigMaps",
                    "Secret": "_linkedSecrets",
                    "PersistentVolumeClaim": "_linkedPVCs",
                }[source.kind]
                assert source.id in d[link_key]
        linked = d.get("_linkedWorkloads", [])
        if len(linked) == 1:
            assert d["podSelector"] == {NODE_LABEL: linked[0]}
        elif linked:
            assert "podSelector" not in d


def edge_pairs(canvas: Canvas) -> Counter[tuple[str, str]]:
    return Counter((e.source, e.target) for e in canvas.edges)


@CASES
def test_the_corpus_is_valid(name: str) -> None:
    result = check_canvas(CORPUS[name])
    assert result.ok, result.errors


@CASES
def test_checking_twice_gives_the_same_canvas(name: str) -> None:
    first = check_canvas(CORPUS[name])
    second = check_canvas(first.canvas)
    assert second.canvas == first.canvas
    assert second.errors == ()
    assert set(second.warnings) <= set(first.warnings)
    assert not any("dropped" in p.message for p in second.warnings)


@CASES
def test_linked_fields_mirror_the_edges_exactly(name: str) -> None:
    result = check_canvas(CORPUS[name])
    assert linked_references(result.canvas) == edge_pairs(result.canvas)
    assert_links_name_current_nodes(result.canvas)


@CASES
def test_removing_any_one_edge_removes_exactly_its_link(name: str) -> None:
    checked = check_canvas(CORPUS[name]).canvas
    for dropped in checked.edges:
        smaller = replace(checked, edges=tuple(e for e in checked.edges if e.id != dropped.id))
        result = check_canvas(smaller)
        assert result.ok, (dropped.id, result.errors)
        assert linked_references(result.canvas) == edge_pairs(smaller), dropped.id
        assert check_canvas(result.canvas).canvas == result.canvas, dropped.id


@CASES
def test_removing_all_edges_leaves_no_link(name: str) -> None:
    checked = check_canvas(CORPUS[name]).canvas
    bare = check_canvas(replace(checked, edges=())).canvas
    assert linked_references(bare) == Counter()
    assert not any(key.startswith("_linked") for n in bare.nodes for key in n.data)


@CASES
def test_renaming_every_node_renames_every_link(name: str) -> None:
    checked = check_canvas(CORPUS[name]).canvas
    renamed = replace(
        checked,
        nodes=tuple(
            Node(n.id, n.kind, n.position, {**n.data, "name": f"r-{display_name(n)}"[:52].replace(".", "-")})
            for n in checked.nodes
        ),
    )
    result = check_canvas(renamed)
    assert result.ok, result.errors
    assert_links_name_current_nodes(result.canvas)


@CASES
def test_node_order_does_not_change_what_is_derived(name: str) -> None:
    checked = check_canvas(CORPUS[name])
    reordered = check_canvas(replace(CORPUS[name], nodes=tuple(reversed(CORPUS[name].nodes))))
    by_id: dict[str, dict[str, Any]] = {n.id: n.data for n in checked.canvas.nodes}
    assert {n.id: n.data for n in reordered.canvas.nodes} == by_id


@CASES
def test_dropping_and_restoring_each_edge_comes_back_to_the_same_canvas(name: str) -> None:
    checked = check_canvas(CORPUS[name]).canvas
    for dropped in checked.edges:
        without = check_canvas(
            replace(checked, edges=tuple(e for e in checked.edges if e.id != dropped.id))
        ).canvas
        restored = check_canvas(replace(without, edges=checked.edges)).canvas
        # A mount's customised path goes with its edge; everything else comes back as it was.
        assert forget_mount_paths(restored, dropped.source) == forget_mount_paths(checked, dropped.source)


def forget_mount_paths(canvas: Canvas, source: str) -> Canvas:
    def clean(data: dict[str, Any]) -> dict[str, Any]:
        mounts = [
            {k: v for k, v in m.items() if k not in ("mountPath", "subPath", "readOnly")}
            if m.get("nodeId") == source
            else m
            for m in data.get("volumeMounts", [])
        ]
        return {**data, "volumeMounts": mounts} if mounts else data

    return replace(canvas, nodes=tuple(Node(n.id, n.kind, n.position, clean(n.data)) for n in canvas.nodes))
