"""GraphiQL served from our own static files: no CDN, so it works air-gapped.

`graphiql_page` renders the HTML (a pure function); `graphiql_assets_app` serves the pinned npm bundles that
`scripts/build-graphiql` copies into app/http/static/graphiql. The versions are pinned in
web/graphiql/package.json and every bundle is also pinned by its Subresource Integrity hash below (the same
bytes unpkg serves for those versions), so a browser refuses a file that differs.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from pathlib import Path
from typing import Final

from starlette.staticfiles import StaticFiles

__all__ = [
    "ASSETS",
    "BUILD_COMMAND",
    "DEFAULT_STATIC_DIR",
    "GraphiQLAssetsMissingError",
    "graphiql_assets_app",
    "graphiql_page",
]

BUILD_COMMAND: Final = "python3 scripts/build-graphiql"
DEFAULT_STATIC_DIR: Final = Path(__file__).resolve().parent / "static" / "graphiql"
MANIFEST: Final = "manifest.json"

# Served file name -> sha384 SRI of its bytes. Names match scripts/build-graphiql's ASSETS.
ASSETS: Final[dict[str, str]] = {
    # react@18.2.0 umd/react.production.min.js
    "react.production.min.js": "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
    # react-dom@18.2.0 umd/react-dom.production.min.js
    "react-dom.production.min.js": "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
    # graphiql@3.8.3 graphiql.min.js (bundles graphql, @graphiql/react, @graphiql/toolkit and graphql-ws)
    "graphiql.min.js": "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
    # graphiql@3.8.3 graphiql.min.css (its fonts are inlined as data: URLs)
    "graphiql.min.css": "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
    # @graphiql/plugin-explorer@1.0.2 dist/index.umd.js (reads window.GraphiQL.React and .GraphQL)
    "plugin-explorer.umd.js": "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9",
    # @graphiql/plugin-explorer@1.0.2 dist/style.css
    "plugin-explorer.css": "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi",
}
_STYLESHEETS: Final = ("graphiql.min.css", "plugin-explorer.css")
_SCRIPTS: Final = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "plugin-explorer.umd.js",
)

# An absolute path on this origin: "/" then path characters; never "//host" (protocol-relative).
_PATH_RE: Final = re.compile(r"/(?!/)[A-Za-z0-9._~!$&'()*+,;=:@%/-]*")


class GraphiQLAssetsMissingError(RuntimeError):
    """The static GraphiQL bundles have not been built (or not copied into the package)."""


_BOOT_SCRIPT: Final = """
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("graphiql-config").textContent);
  var params = new URLSearchParams(window.location.search);

  // Same origin for everything: HTTP(S) for queries and mutations, WS(S) for subscriptions.
  var fetchUrl = new URL(config.graphqlPath, window.location.href);
  fetchUrl.search = "";
  fetchUrl.hash = "";
  var subscriptionUrl = new URL(fetchUrl.href);
  subscriptionUrl.protocol = fetchUrl.protocol === "https:" ? "wss:" : "ws:";

  // Headers typed into the Headers tab go with every HTTP request and, for subscriptions, as the
  // graphql-transport-ws connection_init payload.
  var fetcher = GraphiQL.createFetcher({
    url: fetchUrl.href,
    subscriptionUrl: subscriptionUrl.href,
  });

  var WELCOME = [
    "# Trellis GraphQL API",
    "#",
    "# To authenticate, open the Headers tab below and paste:",
    "#",
    '#   {"Authorization": "Bearer <your token>"}',
    "#",
    "# Run: Ctrl-Enter. Complete: Ctrl-Space. Docs and the explorer are on the left.",
    "",
    "{",
    "  __typename",
    "}",
    "",
  ].join("\\n");

  // Keep the query in the address bar so a link reproduces it (headers never go there). The parameter is
  // "q", not "query": a GET with ?query= is executed by the GraphQL view instead of showing this page.
  function remember(key, value) {
    var next = new URLSearchParams(window.location.search);
    if (value) {
      next.set(key, value);
    } else {
      next.delete(key);
    }
    var search = next.toString();
    history.replaceState(null, "", search ? "?" + search : window.location.pathname);
  }

  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  function TrellisGraphiQL() {
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      defaultQuery: WELCOME,
      query: params.get("q") || undefined,
      variables: params.get("variables") || undefined,
      operationName: params.get("operationName") || undefined,
      onEditQuery: function (value) { remember("q", value); },
      onEditVariables: function (value) { remember("variables", value); },
      onEditOperationName: function (value) { remember("operationName", value); },
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: "headers",
      inputValueDeprecation: true,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(TrellisGraphiQL));
})();
"""

_STYLE: Final = """
html, body { height: 100%; margin: 0; width: 100%; overflow: hidden; }
#graphiql { height: 100vh; display: flex; }
.graphiql-explorer-actions select { margin-left: 4px; }
"""


def _check_path(name: str, value: str) -> str:
    if not _PATH_RE.fullmatch(value):
        raise ValueError(f"{name} must be an absolute path on this origin (like '/graphql'), got {value!r}")
    return value


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _json_for_script(value: object) -> str:
    # Safe inside <script>: no "</script>", no "<!--", no HTML entities.
    return (
        json.dumps(value, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def graphiql_page(*, graphql_path: str, assets_path: str) -> str:
    """The GraphiQL HTML page: every asset from `assets_path`, queries to `graphql_path` on this origin.

    Both arguments are absolute paths ("/graphql", "/graphiql-assets"); the page names no other host, and its
    Content-Security-Policy lets the browser load nothing from anywhere else.
    """
    _check_path("graphql_path", graphql_path)
    base = _check_path("assets_path", assets_path).rstrip("/")

    def asset(name: str) -> str:
        return html.escape(f"{base}/{name}", quote=True)

    csp = "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' {_csp_hash(_BOOT_SCRIPT)}",
            "style-src 'self' 'unsafe-inline'",  # GraphiQL and CodeMirror set inline styles
            "font-src 'self' data:",  # graphiql.min.css inlines its fonts
            "img-src 'self' data:",
            "connect-src 'self'",  # CSP 3: 'self' also allows ws(s) to this host
            "base-uri 'none'",
            "form-action 'none'",
            "object-src 'none'",
        )
    )
    styles = "\n".join(
        f'    <link rel="stylesheet" href="{asset(name)}" integrity="{ASSETS[name]}">'
        for name in _STYLESHEETS
    )
    scripts = "\n".join(
        f'    <script src="{asset(name)}" integrity="{ASSETS[name]}"></script>' for name in _SCRIPTS
    )
    config = _json_for_script({"graphqlPath": graphql_path})
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta http-equiv="Content-Security-Policy" content="{html.escape(csp, quote=True)}">
    <meta name="robots" content="noindex">
    <title>Trellis GraphiQL</title>
    <link rel="icon" href="data:,">
{styles}
    <style>{_STYLE}</style>
  </head>
  <body>
    <div id="graphiql" class="graphiql-container">Loading GraphiQL…</div>
    <noscript>GraphiQL needs JavaScript.</noscript>
    <script type="application/json" id="graphiql-config">{config}</script>
{scripts}
    <script>{_BOOT_SCRIPT}</script>
  </body>
</html>
"""


def graphiql_assets_app(static_dir: Path | None = None) -> StaticFiles:
    """An ASGI app serving the built GraphiQL bundles; mount it at the `assets_path` given to the page.

    Raises GraphiQLAssetsMissingError, naming the build command, when the bundles are not there.
    """
    directory = DEFAULT_STATIC_DIR if static_dir is None else static_dir
    missing = [name for name in (MANIFEST, *ASSETS) if not (directory / name).is_file()]
    if missing:
        raise GraphiQLAssetsMissingError(
            f"GraphiQL assets are missing from {directory} ({', '.join(missing)}); "
            f"build them with `{BUILD_COMMAND}` (needs Node 20 and npm)"
        )
    return StaticFiles(directory=directory)
