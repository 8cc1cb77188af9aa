"""`trellis builds logs BUILD_ID [--follow]`: a build's log, stored lines first; with ``--follow`` over the
`buildLogs` subscription until the build ends. Exit 1 when the build FAILED or was CANCELLED."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from app.clients.connection import add_api_options, api_command
from app.clients.output import Exit, Output
from app.clients.subscriptions import subscribe
from app.clients.trellis_api import TrellisApi

LINE = "seq at source message"
GET = f"""query($id: ID!) {{ build(id: $id) {{ id status errorStage message digest percent
  logs {{ {LINE} }} }} }}"""
LOGS = f"""subscription($id: ID!) {{ buildLogs(buildId: $id) {{ type status errorStage message digest
  line {{ {LINE} }} }} }}"""
ENDED = {"COMPLETED", "FAILED", "CANCELLED"}


def register(commands: Any) -> None:
    builds = commands.add_parser("builds", help="image builds").add_subparsers(
        dest="builds_command", required=True
    )
    logs = builds.add_parser("logs", help="a build's log (every stored line; --follow for new ones)")
    logs.add_argument("build_id", help="the build's id")
    logs.add_argument("--follow", action="store_true", help="keep printing lines until the build ends")
    add_api_options(logs)
    logs.set_defaults(handler=build_logs)


def _line(line: dict[str, Any]) -> str:
    return f"[{line['source'].lower()}] {line['message']}"


def _end(out: Output, status: str, message: str | None) -> int:
    if status not in ENDED:
        out.message(f"build {status} (still running)")
        return Exit.OK
    out.message(f"build {status}" + (f": {message}" if message else ""))
    return Exit.OK if status == "COMPLETED" else Exit.FAILED


@api_command
def build_logs(args: argparse.Namespace, api: TrellisApi, out: Output) -> int:
    if not args.follow:
        build = api.call(GET, {"id": args.build_id})["build"]
        out.data(build, "\n".join(_line(line) for line in build["logs"]) or None)
        return _end(out, build["status"], build["message"])
    final: dict[str, Any] = {}

    async def follow() -> None:
        async for data in subscribe(api.base_url, api.token, LOGS, {"id": args.build_id}):
            event = data["buildLogs"]
            out.data(event, _line(event["line"]) if event["line"] else None)
            if event["type"] == "COMPLETE":
                final.update(event)
                return
            out.progress(f"build {args.build_id}: {event['status']}")

    asyncio.run(follow())
    out.clear_progress()
    if not final:
        return Exit.FAILED
    return _end(out, final["status"], final["message"])
