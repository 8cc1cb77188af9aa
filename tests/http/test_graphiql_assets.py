"""The GraphiQL page names no other host and only files that the static app really serves."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from app.http import graphiql
from app.http.graphiql import (
    ASSETS,
    BUILD_COMMAND,
    GraphiQLAssetsMissingError,
    graphiql_assets_app,
    graphiql_page,
)

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web" / "graphiql"
GRAPHQL_PATH = "/graphql"
ASSETS_PATH = "/graphiql-assets"
CONTENT_TYPES = {".js": {"text/javascript", "application/javascript"}, ".css": {"text/css"}}
PINNED = {"react": "18.2.0", "react-dom": "18.2.0", "graphiql": "3.8.3", "@graphiql/plugin-explorer": "1.0.2"}


class _Page(HTMLParser):
    """Collects every URL-bearing attribute, the CSP and the inline scripts of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.integrity: dict[str, str] = {}
        self.csp = ""
        self.inline_scripts: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name in ("src", "href", "action", "formaction", "data", "poster", "srcset"):
            if name in values:
                self.urls.append((tag, name, values[name]))
                if "integrity" in values:
                    self.integrity[values[name]] = values["integrity"]
        if tag == "meta" and values.get("http-equiv", "").lower() == "content-security-policy":
            self.csp = values["content"]
        self._in_inline_script = tag == "script" and "src" not in values and "type" not in values

    def handle_data(self, data: str) -> None:
        if self._in_inline_script:
            self.inline_scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def page() -> str:
    return graphiql_page(graphql_path=GRAPHQL_PATH, assets_path=ASSETS_PATH)


@pytest.fixture(scope="module")
def static_dir() -> Path:
    graphiql_assets_app()  # raises, naming the build command, when the assets were not built
    return graphiql.DEFAULT_STATIC_DIR


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=[Mount(ASSETS_PATH, app=graphiql_assets_app())])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://trellis.test") as c:
        yield c


def test_page_names_no_other_host(page: str) -> None:
    assert re.search(r"[a-z][a-z0-9+.-]*://", page, re.IGNORECASE) is None, "an absolute URL is in the page"
    assert re.search(r"""["'(=]\s*//""", page) is None, "a protocol-relative URL is in the page"
    for tag, attribute, url in _parse(page).urls:
        parts = urlsplit(url)
        assert parts.netloc == "", (tag, attribute, url)
        assert parts.scheme in ("", "data"), (tag, attribute, url)


def test_page_csp_allows_only_this_origin_and_the_inline_boot_script(page: str) -> None:
    parsed = _parse(page)
    directives = dict(d.strip().split(" ", 1) for d in parsed.csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["connect-src"] == "'self'"
    (boot,) = parsed.inline_scripts
    digest = base64.b64encode(hashlib.sha256(boot.encode()).digest()).decode()
    assert directives["script-src"] == f"'self' 'sha256-{digest}'"


def test_page_loads_every_asset_from_the_assets_path_with_its_integrity(page: str, static_dir: Path) -> None:
    parsed = _parse(page)
    loaded = [url for tag, _, url in parsed.urls if tag in ("script", "link") and not url.startswith("data:")]
    assert sorted(loaded) == sorted(f"{ASSETS_PATH}/{name}" for name in ASSETS)
    for url in loaded:
        name = url.removeprefix(f"{ASSETS_PATH}/")
        body = (static_dir / name).read_bytes()
        sri = "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()
        assert parsed.integrity[url] == sri == ASSETS[name], f"{name} differs from the pinned bytes"


def test_page_wires_the_graphql_path_and_the_headers_editor(page: str) -> None:
    config = re.search(r'<script type="application/json" id="graphiql-config">(.*?)</script>', page)
    assert config is not None
    assert json.loads(config.group(1)) == {"graphqlPath": GRAPHQL_PATH}
    assert "subscriptionUrl" in page
    assert "isHeadersEditorEnabled: true" in page
    assert "Authorization" in page
    # ?query= on GET /graphql makes Strawberry execute instead of rendering this page: the page uses ?q=.
    assert 'params.get("q")' in page
    assert 'params.get("query")' not in page


def test_assets_path_may_end_with_a_slash() -> None:
    assert graphiql_page(graphql_path="/api/graphql", assets_path="/static/gql/") == graphiql_page(
        graphql_path="/api/graphql", assets_path="/static/gql"
    )
    assert 'src="/static/gql/graphiql.min.js"' in graphiql_page(graphql_path="/g", assets_path="/static/gql/")


@pytest.mark.parametrize(
    "path",
    [
        "graphql",
        "//cdn.example/graphql",
        "https://cdn.example/graphql",
        "/a b",
        '/x"><script>',
        "",
        "javascript:x",
    ],
)
def test_page_refuses_anything_but_an_absolute_path(path: str) -> None:
    with pytest.raises(ValueError, match="absolute path"):
        graphiql_page(graphql_path=path, assets_path=ASSETS_PATH)
    with pytest.raises(ValueError, match="absolute path"):
        graphiql_page(graphql_path=GRAPHQL_PATH, assets_path=path)


async def test_static_app_serves_each_asset_with_its_content_type(
    client: httpx.AsyncClient, static_dir: Path
) -> None:
    for name in ASSETS:
        response = await client.get(f"{ASSETS_PATH}/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].split(";")[0] in CONTENT_TYPES[Path(name).suffix], name
        assert response.content == (static_dir / name).read_bytes()
    assert (await client.get(f"{ASSETS_PATH}/nope.js")).status_code == 404
    assert (await client.get(f"{ASSETS_PATH}/../graphiql.py")).status_code == 404


def test_manifest_lists_exactly_the_assets_the_page_loads(static_dir: Path) -> None:
    manifest = json.loads((static_dir / "manifest.json").read_text())
    assert set(manifest["files"]) == set(ASSETS)
    assert manifest["packages"] == PINNED
    for name, info in manifest["files"].items():
        assert (static_dir / name).stat().st_size == info["size"]


def test_missing_assets_name_the_build_command(tmp_path: Path) -> None:
    with pytest.raises(GraphiQLAssetsMissingError, match=re.escape(BUILD_COMMAND)):
        graphiql_assets_app(tmp_path)
    with pytest.raises(GraphiQLAssetsMissingError, match="missing"):
        graphiql_assets_app(tmp_path / "nowhere")


def test_npm_pins_are_exact_and_the_lockfile_names_no_other_registry() -> None:
    package = json.loads((WEB / "package.json").read_text())
    assert package["dependencies"] == PINNED
    lock = json.loads((WEB / "package-lock.json").read_text())
    packages = lock["packages"]
    assert packages[""]["dependencies"] == PINNED
    for name, version in PINNED.items():
        assert packages[f"node_modules/{name}"]["version"] == version
    for key, entry in packages.items():
        if key:
            assert entry.get("integrity", "").startswith("sha512-"), key
        resolved = entry.get("resolved")
        assert resolved is None or urlsplit(resolved).hostname == "registry.npmjs.org", (key, resolved)
