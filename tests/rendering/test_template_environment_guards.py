"""The template environment's guards: values only through the json filter, StrictUndefined, values never
evaluated as Jinja, every kind's template present, and a template's output checked."""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2
import pytest
import yaml

from app.domain.kinds import KINDS
from app.rendering import ManifestRenderer, TemplateMisuse, TemplateOutputError, default_templates_dir
from app.rendering.environment import build_environment, template_name
from tests.rendering.canvases import node, render


def env_with(tmp_path: Path, text: str) -> jinja2.Template:
    (tmp_path / "t.yaml.j2").write_text(text)
    return build_environment(tmp_path).get_template("t.yaml.j2")


def test_a_value_printed_without_the_json_filter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateMisuse, match="without the json filter"):
        env_with(tmp_path, "name: {{ name }}\n").render(name="web")
    with pytest.raises(TemplateMisuse):
        env_with(tmp_path, "replicas: {{ n }}\n").render(n=3)


def test_the_json_filter_quotes_and_keeps_one_line(tmp_path: Path) -> None:
    template = env_with(tmp_path, "name: {{ name | json }}\nn: {{ n | json }}\nm: {{ m | json }}\n")
    text = template.render(name="a\nb: c", n=3, m={"b": "2", "a": True})
    assert text == 'name: "a\\nb: c"\nn: 3\nm: {"a": true, "b": "2"}\n'
    assert yaml.safe_load(text) == {"name": "a\nb: c", "n": 3, "m": {"a": True, "b": "2"}}


def test_jinja_syntax_inside_a_value_is_printed_not_run(tmp_path: Path) -> None:
    template = env_with(tmp_path, "v: {{ v | json }}\n")
    text = template.render(v="{{ 7 * 7 }}{% if true %}x{% endif %}")
    assert yaml.safe_load(text) == {"v": "{{ 7 * 7 }}{% if true %}x{% endif %}"}


def test_a_missing_variable_is_an_error_not_an_empty_string(tmp_path: Path) -> None:
    with pytest.raises(jinja2.UndefinedError):
        env_with(tmp_path, "v: {{ missing | json }}\n").render()
    with pytest.raises(jinja2.UndefinedError):
        env_with(tmp_path, "v: {{ data.Image | json }}\n").render(data={"image": "x"})
    with pytest.raises(jinja2.UndefinedError):
        env_with(tmp_path, "{% if data.Image %}x{% endif %}\n").render(data={"image": "x"})


def test_the_repository_has_a_template_for_every_kind() -> None:
    folder = default_templates_dir()
    assert folder == Path(__file__).resolve().parents[2] / "templates"
    for kind in KINDS:
        assert (folder / template_name(kind)).is_file(), kind


def test_a_missing_template_fails_when_the_renderer_is_built(tmp_path: Path) -> None:
    shutil.copytree(default_templates_dir(), tmp_path / "templates")
    (tmp_path / "templates" / "ingress.yaml.j2").unlink()
    with pytest.raises(FileNotFoundError, match=r"ingress\.yaml\.j2"):
        ManifestRenderer(tmp_path / "templates")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ManifestRenderer(tmp_path / "nowhere")


def test_a_broken_template_fails_when_the_renderer_is_built(tmp_path: Path) -> None:
    shutil.copytree(default_templates_dir(), tmp_path / "templates")
    (tmp_path / "templates" / "configmap.yaml.j2").write_text("{% if %}\n")
    with pytest.raises(jinja2.TemplateSyntaxError):
        ManifestRenderer(tmp_path / "templates")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ meta.name | json }}\n", "expected"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: shop}\n", "expected"),
        ("a: 1\n---\nb: 2\n", "one object"),
        ("a: [\n", "invalid YAML"),
        ("- a\n", "one object"),
    ],
)
def test_a_template_producing_the_wrong_object_is_a_bug_reported_as_such(
    tmp_path: Path, text: str, message: str
) -> None:
    shutil.copytree(default_templates_dir(), tmp_path / "templates")
    (tmp_path / "templates" / "configmap.yaml.j2").write_text(text)
    renderer = ManifestRenderer(tmp_path / "templates")
    with pytest.raises(TemplateOutputError, match=message):
        render(renderer, [node("c", "ConfigMap")])
