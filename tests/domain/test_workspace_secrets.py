"""Workspace secrets in the domain: names, ``{{ secrets.NAME }}`` references checked at save, which steps read
a secret, and masking revealed values."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.flows import check_flow
from app.domain.workflows import Canvas, Edge, Node, Position
from app.domain.workspace_secrets import (
    MASK,
    mask,
    mask_json,
    name_problem,
    names_in_text,
    nodes_using_secret,
    reference_problem,
    secrets_of_node,
)


def n(node_id: str, kind: str, **data: Any) -> Node:
    return Node(node_id, kind, Position(0, 0), data)


def flow(step: Node) -> Canvas:
    return Canvas((n("start", "Start"), step), (Edge("a", "start", step.id),))


@pytest.mark.parametrize("name", ["API_KEY", "_X", "A1", "A" * 128])
def test_env_var_names_are_secret_names(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize("name", ["", "api_key", "1A", "A-B", "A B", "A" * 129, "É"])
def test_other_names_are_refused(name: str) -> None:
    assert name_problem(name)


def test_placeholders_name_the_secrets_they_read_each_once() -> None:
    text = "Bearer {{ secrets.TOKEN }} {{input.id}} {{secrets.TOKEN}} {{ secrets . OTHER }}"
    assert names_in_text(text) == ("TOKEN", "OTHER")
    assert reference_problem("secrets.TOKEN") is None
    assert reference_problem("input.id") is None
    assert (
        reference_problem("secrets.lower")
        and reference_problem("secrets")
        and reference_problem("secrets[0]")
    )


def test_the_steps_reading_a_secret_are_found_by_kind() -> None:
    canvas = Canvas(
        (
            n("f", "Function", secrets=["API_KEY", "OTHER"]),
            n("h", "HttpRequest", urlTemplate="https://x/{{ secrets.API_KEY }}", headers={"A": "b"}),
            n(
                "g",
                "HttpRequest",
                urlTemplate="https://x",
                headers={"Authorization": "{{ secrets.API_KEY }}"},
            ),
            n("b", "HttpRequest", urlTemplate="https://x", body='{"k": "{{ secrets.API_KEY }}"}'),
            n("ai", "AiAgent", apiKeySecret="API_KEY"),
            n("c", "Condition", expression="input.API_KEY"),
        ),
        (),
    )
    assert nodes_using_secret(canvas, "API_KEY") == ("f", "h", "g", "b", "ai")
    assert nodes_using_secret(canvas, "OTHER") == ("f",)
    assert secrets_of_node(canvas.nodes[-1]) == ()


def test_a_flow_reading_secrets_by_valid_names_saves() -> None:
    step = n(
        "call",
        "HttpRequest",
        urlTemplate="https://api.example.com/{{ input.id }}?key={{ secrets.API_KEY }}",
        headers={"Authorization": "Bearer {{ secrets.TOKEN }}"},
    )
    assert check_flow(flow(step)).ok
    assert check_flow(flow(n("fn", "Function", code="x", secrets=["API_KEY"]))).ok


def test_bad_secret_references_are_errors_at_their_fields() -> None:
    step = n(
        "call", "HttpRequest", urlTemplate="https://x/{{ secrets.api_key }}", headers={"A": "{{ secrets }}"}
    )
    errors = {p.path: p.message for p in check_flow(flow(step)).errors}
    assert "secrets.NAME" in errors["nodes[1].data.urlTemplate"]
    assert "secrets.NAME" in errors["nodes[1].data.headers.A"]
    function = n("fn", "Function", code="x", secrets=["OK", "not-ok"])
    errors = {p.path: p.message for p in check_flow(flow(function)).errors}
    assert list(errors) == ["nodes[1].data.secrets[1]"]


def test_secrets_are_not_in_scope_of_other_expressions() -> None:
    step = n("c", "Condition", expression="secrets.API_KEY")
    errors = {p.path: p.message for p in check_flow(flow(step)).errors}
    assert "not in scope" in errors["nodes[1].data.expression"]


def test_masking_replaces_every_value_longest_first_keys_included() -> None:
    assert mask("a sk-123 b sk-1234", ["sk-123", "sk-1234"]) == f"a {MASK} b {MASK}"
    value = {"headers": {"x-echo": "sk-1234", "sk-1234": [1, "v sk-1234"]}, "n": 3}
    assert mask_json(value, ["sk-1234", ""]) == {"headers": {"x-echo": MASK, MASK: [1, f"v {MASK}"]}, "n": 3}
    assert mask_json("keep", []) == "keep"
