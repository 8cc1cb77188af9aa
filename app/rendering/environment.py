"""The Jinja2 environment the manifest templates run in, and where the templates live.

Templates are YAML with ``{{ … }}`` holes; the rules that keep user values from changing a document's
structure are enforced here, not left to each template:

* a hole may only print the output of the ``json`` filter (a value as one-line YAML flow text, see
  :mod:`app.rendering.scalars`) or of the ``nest`` filter (the output of a macro, re-indented); printing
  anything else is a :class:`TemplateMisuse` raised at render time, so a forgotten filter fails every
  test that renders that line instead of shipping;
* ``StrictUndefined``: a misspelt or missing field is an error, never an empty string (the reference's
  casing bugs rendered fields empty);
* no autoescaping (this is YAML, not HTML), and values are data: Jinja syntax inside a value is printed,
  never evaluated.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path
from typing import Any

import jinja2

from app.rendering.scalars import yaml_literal

TEMPLATE_SUFFIX = ".yaml.j2"


class TemplateMisuse(RuntimeError):
    """A template printed a value without the ``json`` or ``nest`` filter (a bug in the template)."""


class Emitted(str):
    """Text a filter made safe to print into a YAML document."""

    __slots__ = ()


def _json(value: Any) -> Emitted:
    """The ``json`` filter: ``value`` as one-line YAML flow text (strings quoted, keys sorted)."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return Emitted(yaml_literal(value))


def _nest(text: str, width: int) -> Emitted:
    """The ``nest`` filter: a macro's block output indented by ``width`` spaces after its first line.

    Only for the output of the templates' own macros, whose every value went through ``json`` already.
    """
    return Emitted(jinja2.filters.do_indent(str(text).rstrip("\n"), width))


def _compact(mapping: Any) -> dict[str, Any]:
    """The ``compact`` filter: a mapping without its unset entries (``None``, empty lists and maps)."""
    return {key: value for key, value in mapping.items() if value is not None and value != [] and value != {}}


def _finalize(value: Any) -> Any:
    if type(value) is Emitted:
        return value
    raise TemplateMisuse(
        f"a template printed {type(value).__name__} {str(value)[:40]!r} without the json filter; "
        "write {{ value | json }} (or {{ macro() | nest(n) }} for a macro's output)"
    )


def build_environment(templates_dir: Path) -> jinja2.Environment:
    """A Jinja2 environment over the templates in ``templates_dir`` with the rules above."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - YAML, not HTML: values are made safe by the json filter
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["json"] = _json
    env.filters["nest"] = _nest
    env.filters["compact"] = _compact
    return env


def template_name(kind: str) -> str:
    """The file name of the template of a node kind: ``deployment.yaml.j2``."""
    return f"{kind.lower()}{TEMPLATE_SUFFIX}"


def default_templates_dir() -> Path:
    """Where the manifest templates are: the repository's ``templates/`` folder next to the ``app``
    package (a checkout or an editable install), else the copy a wheel installs as data files under
    ``<prefix>/share/trellis/templates`` (pyproject's ``tool.setuptools.data-files``).

    Raises ``FileNotFoundError`` naming the places it looked when neither is there: pass the folder to
    ``ManifestRenderer`` instead.
    """
    candidates = [
        Path(__file__).resolve().parents[2] / "templates",
        *(Path(prefix) / "share" / "trellis" / "templates" for prefix in _install_prefixes()),
    ]
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise FileNotFoundError(
        f"the manifest templates folder was not found at {', '.join(map(str, candidates))}; install the "
        "package from a wheel, copy templates/ next to the app package or pass its path to "
        "ManifestRenderer(templates_dir=...)"
    )


def _install_prefixes() -> list[str]:
    """The data folders a wheel's data files may have gone to (the environment's, then the user's)."""
    prefixes = [sysconfig.get_path("data"), sys.prefix]
    user_scheme = f"{os.name}_user"
    if user_scheme in sysconfig.get_scheme_names():
        prefixes.append(sysconfig.get_path("data", user_scheme))
    return list(dict.fromkeys(prefixes))
