import time

import pytest

from app.compose import FilesInMemory, analyze
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


def test_hostile_documents_are_refused_fast_by_the_analysis() -> None:
    cases = {
        "ALIAS_BOMB": BOMB,
        "DOCUMENT_TOO_DEEP": "services:\n  a:\n    image: x\n    labels: " + "[" * 300 + "]" * 300 + "\n",
        "INVALID_YAML": "services:\n  a: {image: x\n",
        "UNKNOWN_TOP_LEVEL_KEY": "service:\n  a: {image: x}\n",
    }
    for code, text in cases.items():
        started = time.monotonic()
        result = analyze([text])
        assert [e.code for e in result.errors] == [code], code
        assert result.canvas.nodes == ()
        assert time.monotonic() - started < 1, code


def test_a_huge_or_broken_included_file_is_refused_naming_it() -> None:
    huge = "services:\n  b:\n    image: x\n" + "#" * 50_000_000
    main = "include: [huge.yaml]\nservices:\n  a: {image: x}\n"
    started = time.monotonic()
    result = analyze([main], project=FilesInMemory({"huge.yaml": huge}, from_repository=True))
    assert [(e.code, e.message) for e in result.errors] == [
        (
            "INCLUDE_FILE_MISSING",
            "the included file 'huge.yaml' could not be read: it is too large or not text",
        )
    ]
    assert time.monotonic() - started < 1
    broken = analyze(
        [main], project=FilesInMemory({"huge.yaml": "services: [unclosed"}, from_repository=True)
    )
    assert [e.code for e in broken.errors] == ["INVALID_YAML"]
    assert broken.errors[0].message.endswith("(in 'huge.yaml')")


def test_a_repeated_key_is_refused_as_compose_refuses_it() -> None:
    assert _code("services:\n  a: {image: x}\n  a: {image: y}\n") == "DUPLICATE_KEY"
    with pytest.raises(ComposeError, match="line 3: the key 'image' is already defined at line 2"):
        load_yaml("a:\n  image: x\n  image: y\n")
    assert load_yaml("x: &x {k: 1}\na: {<<: *x, k: 2}\nb: {<<: *x}\n")["a"] == {"k": 2}


def test_compose_merge_tags_are_refused_clearly() -> None:
    result = analyze(["services:\n  a:\n    image: x\n    ports: !reset []\n"])
    assert [(e.code, e.message) for e in result.errors] == [
        (
            "UNSUPPORTED_YAML_TAG",
            "line 4: the Compose merge tag !reset is not supported yet: write the merged value out instead",
        )
    ]


def test_a_huge_or_broken_env_text_is_refused() -> None:
    started = time.monotonic()
    huge = analyze(["services:\n  a: {image: x}\n"], env_text="A=" + "x" * 50_000_000)
    assert [e.code for e in huge.errors] == ["DOCUMENT_TOO_LARGE"]
    assert time.monotonic() - started < 1
    broken = analyze(["services:\n  a: {image: x}\n"], env_text="A=1\nB='open\n")
    assert [(e.code, e.message) for e in broken.errors] == [
        ("ENV_INVALID", "the .env content cannot be read: line 2: unterminated quoted value 'open")
    ]
