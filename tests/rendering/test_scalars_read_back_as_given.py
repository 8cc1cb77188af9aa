"""yaml_literal: any JSON-like value as one line of YAML that reads back as exactly that value."""

from __future__ import annotations

import math

import pytest
import yaml

from app.rendering.scalars import yaml_literal
from tests.rendering.nasty import NASTY

VALUES: list[object] = [
    None,
    True,
    False,
    0,
    -7,
    2**63,
    1.5,
    "",
    "plain",
    ["a", 1, None, {"k": "v"}],
    {"z": 1, "a": {"nested": ["x", "y"]}},
    {"key: with colon": "v", "#": "*", "&a": "!b"},
]


@pytest.mark.parametrize("value", VALUES + NASTY, ids=lambda v: type(v).__name__)
def test_the_value_reads_back_the_same_on_one_line(value: object) -> None:
    text = yaml_literal(value)
    assert "\n" not in text and "\r" not in text
    assert yaml.safe_load(text) == value
    assert yaml.safe_load(f"key: {text}\nother: 1\n") == {"key": value, "other": 1}
    assert yaml.safe_load(f"- {text}\n- 2\n") == [value, 2]


def test_map_keys_are_sorted() -> None:
    assert yaml_literal({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'


def test_unicode_line_breaks_and_controls_are_escaped() -> None:
    text = yaml_literal("a\u2028b\x85c\x7fd\ufeffe")
    assert text == '"a\\u2028b\\u0085c\\u007fd\\ufeffe"'


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_numbers_yaml_would_read_as_text_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        yaml_literal(value)


def test_other_objects_are_refused() -> None:
    with pytest.raises(TypeError):
        yaml_literal(object())
