import time

import pytest

from app.compose import analyze
from app.compose.loading import load_yaml
from app.compose.problems import ComposeError

BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(8)]
)


def _code(text: str, **kw: int) -> str:
    with pytest.raises(ComposeError) as info:
        load_yaml(text, **kw)
    return info.value.problem.code


def test_alias_bomb_is_refused_fast() -> None:
    started = time.monotonic()
    assert _code(BOMB) == "ALIAS_BOMB"
    assert time.monotonic() - started < 1


def test_fifty_megabytes_is_refused_fast() -> None:
    started = time.monotonic()
    result = analyze(["services:\n  a:\n    image: x\n" + "#" * 50_000_000])
    assert [e.code for e in result.errors] == ["DOCUMENT_TOO_LARGE"]
    assert time.monotonic() - started < 1


def test_size_limit_is_a_parameter() -> None:
    assert _code("a: " + "x" * 100, max_bytes=50) == "DOCUMENT_TOO_LARGE"


def test_deep_nesting_is_refused() -> None:
    assert _code("[" * 200 + "]" * 200) == "DOCUMENT_TOO_DEEP"
    assert _code("[" * 5000 + "]" * 5000) == "DOCUMENT_TOO_DEEP"


def test_malformed_yaml_is_an_error() -> None:
    result = analyze(["services: [unclosed"])
    assert [e.code for e in result.errors] == ["INVALID_YAML"]
    assert result.canvas.nodes == ()


def test_anchors_and_merge_keys_still_work() -> None:
    assert load_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n") == {
        "base": {"x": 1},
        "other": {"x": 1, "y": 2},
    }


def test_yes_and_no_stay_text() -> None:
    assert load_yaml("restart: no\nflag: yes\nreal: true\n") == {"restart": "no", "flag": "yes", "real": True}
