"""Safe YAML loading with limits: document size, alias expansion and nesting depth.

The document is first composed into a node graph (aliases share nodes, nothing is expanded), its
expanded size and depth are measured on that graph, and only then is it constructed into Python values.
YAML 1.1 booleans such as ``yes``/``no``/``on``/``off`` and timestamps stay text, as Docker Compose
(YAML 1.2) reads them.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from app.compose.problems import ComposeError, ComposeProblem

MAX_BYTES = 1_000_000
MAX_NODES = 200_000
MAX_DEPTH = 64


class _Loader(yaml.SafeLoader):
    """SafeLoader whose only booleans are ``true`` and ``false`` (any case), without timestamps."""


_TEXT_TAGS = frozenset({"tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"})
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _TEXT_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _fail(code: str, message: str) -> ComposeError:
    return ComposeError(ComposeProblem(code, message))


def load_yaml(
    text: str, *, max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH
) -> Any:
    """The value of the YAML document ``text``; raises :class:`ComposeError` when it is malformed or
    exceeds a limit (``max_bytes`` of UTF-8, ``max_nodes`` after alias expansion, ``max_depth``)."""
    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise _fail("DOCUMENT_TOO_LARGE", f"the document is larger than {max_bytes} bytes")
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise _fail("DOCUMENT_TOO_DEEP", f"the document nests deeper than {max_depth} levels") from None
        except yaml.YAMLError as exc:
            raise _fail("INVALID_YAML", f"the document is not valid YAML: {exc}") from None
        if node is None:
            return None
        _measure(node, max_nodes, max_depth)
        try:
            return loader.construct_document(node)
        except yaml.YAMLError as exc:
            raise _fail("INVALID_YAML", f"the document is not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def _check_unique_keys(node: yaml.MappingNode) -> None:
    """Refuse a mapping that repeats a key, as Compose does (YAML parsers would keep the last one)."""
    seen: dict[str, int] = {}
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode):
            line = key.start_mark.line + 1
            if key.value in seen:
                raise _fail(
                    "DUPLICATE_KEY",
                    f"line {line}: the key {key.value!r} is already defined at line {seen[key.value]}",
                )
            seen[key.value] = line


def _refuse_merge_tag(_loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    raise _fail(
        "UNSUPPORTED_YAML_TAG",
        f"line {node.start_mark.line + 1}: the Compose merge tag {node.tag} is not supported yet: "
        "write the merged value out instead",
    )


_Loader.add_constructor("!reset", _refuse_merge_tag)
_Loader.add_constructor("!override", _refuse_merge_tag)


def _measure(root: yaml.Node, max_nodes: int, max_depth: int) -> None:
    """Refuse a graph whose expansion has more than ``max_nodes`` nodes or is deeper than ``max_depth``."""
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if depth + heights.get(key, 0) > max_depth:
            raise _fail("DOCUMENT_TOO_DEEP", f"the document nests deeper than {max_depth} levels")
        if key in sizes:
            return sizes[key]
        if key in active:
            raise _fail("ALIAS_CYCLE", "the document refers to itself through an alias")
        active.add(key)
        total, height = 1, 0
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
            _check_unique_keys(node)
        else:
            children = []
        for child in children:
            total += size(child, depth + 1)
            height = max(height, heights[id(child)] + 1)
            if total > max_nodes:
                raise _fail(
                    "ALIAS_BOMB", f"the document expands to more than {max_nodes} nodes (aliases included)"
                )
        active.discard(key)
        sizes[key], heights[key] = total, height
        return total

    size(root, 1)
