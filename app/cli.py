"""The ``trellis`` command: ``serve``, ``export-schema``, ``rotate-keys``, and the API client commands
(``clusters add``, ``login``, ``workflows``, ``import compose``, ``builds logs``: app/clients)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from app.settings import Settings

DEFAULT_SDL = Path("schema/schema.graphql")


def main(argv: Sequence[str] | None = None) -> int:
    from app.clients.commands import EXIT_CODES_HELP, add_api_commands
    from app.ops.commands import add_ops_commands
    from app.ops.release import add_release_command

    parser = argparse.ArgumentParser(
        prog="trellis",
        description="Trellis: visual Kubernetes workflows",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server (settings from TRELLIS_* variables)")
    serve.add_argument("--host", help="listen address (default: TRELLIS_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default: TRELLIS_PORT or 8000)")
    export = commands.add_parser("export-schema", help="print or write the GraphQL SDL")
    export.add_argument(
        "--output", type=Path, default=DEFAULT_SDL, help=f"file to write (default {DEFAULT_SDL})"
    )
    export.add_argument("--check", action="store_true", help="exit 1 if the file differs from the code")
    commands.add_parser(
        "rotate-keys",
        help="re-encrypt every stored secret with the first key of TRELLIS_ENCRYPTION_KEYS",
    )
    clusters = commands.add_parser("clusters", help="manage clusters through the API").add_subparsers(
        dest="clusters_command", required=True
    )
    add = clusters.add_parser("add", help="register clusters from a local kubeconfig")
    add.add_argument("--kubeconfig", type=Path, default=Path(os.environ.get("KUBECONFIG", "~/.kube/config")))
    add.add_argument("--context", help="the context to register (default: the current context)")
    add.add_argument("--all-contexts", action="store_true", help="register every context of the kubeconfig")
    add.add_argument("--name", help="cluster name in Trellis (default: the context name)")
    add.add_argument("--workspace", help="workspace id (default: your personal workspace)")
    add.add_argument(
        "--url", default=os.environ.get("TRELLIS_URL", "http://127.0.0.1:8000"), help="Trellis URL"
    )
    add.add_argument(
        "--token", default=os.environ.get("TRELLIS_TOKEN"), help="access token (or TRELLIS_TOKEN)"
    )
    add.add_argument("--email", help="sign in with this e-mail instead of a token (asks for the password)")
    add_api_commands(commands)  # login, logout, workflows, import, builds (app/clients/*_commands.py)
    add_ops_commands(commands)  # backup, restore, docs (app/ops/)
    add_release_command(commands)  # release-schema (app/ops/release.py)
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is not None:
        return int(args.handler(args))
    if args.command == "serve":
        return _serve(args.host, args.port)
    if args.command == "rotate-keys":
        return asyncio.run(_rotate_keys(Settings()))
    if args.command == "clusters":
        from app.clients.cluster_commands import add_clusters

        return add_clusters(args)
    return _export(args.output, check=args.check)


def _serve(host: str | None, port: int | None) -> int:
    import uvicorn

    from app.main import create_app
    from app.observability.logs import configure_logging
    from app.observability.tracing import TracingUnavailable
    from app.settings import LogFormat

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    try:
        app = create_app(settings)
    except TracingUnavailable as exc:
        print(f"trellis: {exc}", file=sys.stderr)
        return 2
    configure_logging(level=settings.log_level, json_lines=settings.resolved_log_format is LogFormat.JSON)
    print(f"Trellis GraphiQL: {settings.resolved_public_url}/graphql", flush=True)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # Uvicorn's records go through the root handler (text or JSON, with request ids)
        proxy_headers=False,  # X-Forwarded-For is read by app.http.origin, from TRELLIS_TRUSTED_PROXIES only
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )
    return 0


async def _rotate_keys(settings: Settings) -> int:
    from app.auth.keyring import Keyring, KeyringError
    from app.settings import with_development_secrets
    from app.store.opening import open_store

    settings = with_development_secrets(settings)
    keyring = Keyring.from_setting(settings.encryption_keys.get_secret_value())
    store = await open_store(settings.resolved_store_url)
    try:
        count = await store.reencrypt(keyring.rotate)
        # Workspace secrets in a second write: rotating a value already rotated is harmless, so a failure
        # here leaves every value readable, and running the command again finishes the work.
        count += await store.reencrypt_workspace_secrets(keyring.rotate)
    except KeyringError as exc:
        print(
            f"nothing changed: {exc}; keep every old key in TRELLIS_ENCRYPTION_KEYS until rotated",
            file=sys.stderr,
        )
        return 1
    finally:
        await store.close()
    print(f"re-encrypted {count} value(s) with the first key")
    return 0


def sdl() -> str:
    from strawberry.printer import print_schema

    from schema.root import build_schema

    return print_schema(build_schema()) + "\n"


def _export(output: Path, *, check: bool) -> int:
    text = sdl()
    if check:
        if not output.exists() or output.read_text() != text:
            print(f"{output} differs from the code: run `trellis export-schema`", file=sys.stderr)
            return 1
        return 0
    output.write_text(text)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
