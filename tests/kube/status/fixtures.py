"""Objects as a real cluster reports them, from ``tests/fixtures/kube/<kind>/<state>.yaml``."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "kube"


class _ApiLoader(yaml.SafeLoader):
    """Leaves timestamps as strings, as they are in the API server's JSON."""


_ApiLoader.yaml_implicit_resolvers = {
    first: [resolver for resolver in resolvers if resolver[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@functools.cache
def _parsed(name: str) -> dict[str, Any]:
    loaded = yaml.load((ROOT / name).read_text(), Loader=_ApiLoader)  # a SafeLoader subclass
    assert isinstance(loaded, dict), name
    return loaded


def load(name: str) -> dict[str, Any]:
    """A fresh copy of the object in ``<kind>/<state>.yaml``."""
    return copy.deepcopy(_parsed(name))


def every_fixture(*, but: tuple[str, ...] = ("event",)) -> list[str]:
    """``<kind>/<state>.yaml`` for every fixture, sorted, leaving out the folders in ``but``."""
    return sorted(
        str(path.relative_to(ROOT)) for path in ROOT.glob("*/*.yaml") if path.parent.name not in but
    )
