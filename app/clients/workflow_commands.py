"""`trellis workflows list|show|run|status`: workflows, their runs and their live status through the API
(runs and health followed over a WebSocket subscription)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable
from contextlib import aclosing
from typing import Any

from app.clients.connection import add_api_options, api_command
from app.clients.output import Exit, Output, table
from app.clients.subscriptions import subscribe
from app.clients.trellis_api import ApiError, TrellisApi

SUMMARY = "id name status namespace workspaceId clusterId revision updatedAt"
LIST = f"""query($after: String, $filter: WorkflowFilter) {{
  workflows(first: 100, after: $after, filter: $filter) {{
    pageInfo {{ hasNextPage endCursor }} nodes {{ {SUMMARY} }} }} }}"""
SHOW = f"""query($id: ID!) {{ workflow(id: $id) {{ {SUMMARY} description createdAt
  nodes {{ id kind data }} edges {{ id source target sourceHandle targetHandle }} }} }}"""
RUN_FIELDS = """id workflowId clusterId version status startedAt completedAt durationMs error warnings
  nodeStates { nodeId status message }"""
RUN = f"mutation($id: ID!) {{ runWorkflow(input: {{id: $id}}) {{ run {{ {RUN_FIELDS} }} }} }}"
GET_RUN = f"query($id: ID!) {{ run(id: $id) {{ {RUN_FIELDS} }} }}"
LATEST_RUN = f"query($id: ID!) {{ runs(workflowId: $id, first: 1) {{ nodes {{ {RUN_FIELDS} }} }} }}"
RUN_STATUS = f"""subscription($id: ID!) {{ runStatus(runId: $id) {{ type at message
  run {{ {RUN_FIELDS} }} node {{ nodeId status message }} }} }}"""
WORKFLOW_STATUS = """subscription($id: ID!) { workflowStatus(workflowId: $id) { type at message
  nodes { nodeId health message updatedAt } } }"""
CLUSTERS = "query($ws: ID) { clusters(workspaceId: $ws) { id name } }"
SET_CLUSTER = """mutation($id: ID!, $cluster: ID!) { updateWorkflow(input: {id: $id, clusterId: $cluster})
  { workflow { id clusterId } } }"""
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "INTERRUPTED"}


def register(commands: Any) -> None:
    workflows = commands.add_parser("workflows", help="list, show, run and watch workflows").add_subparsers(
        dest="workflows_command", required=True
    )
    listing = workflows.add_parser("list", help="the workflows of your workspaces, newest first")
    listing.add_argument("--workspace", help="only this workspace's workflows (its id)")
    show = workflows.add_parser("show", help="one workflow: its fields, nodes and edges")
    show.add_argument("id", help="the workflow's id")
    run = workflows.add_parser("run", help="deploy the workflow's saved canvas to its cluster")
    run.add_argument("id", help="the workflow's id")
    run.add_argument("--cluster", help="first set the workflow's cluster (an id or a name)")
    run.add_argument(
        "--wait", action="store_true", help="follow the run until it ends; exit 1 unless COMPLETED"
    )
    status = workflows.add_parser(
        "status", help="the latest run of a workflow (or --run), or with --health its nodes' live health"
    )
    status.add_argument("id", help="the workflow's id")
    status.add_argument("--run", dest="run_id", help="this run instead of the latest")
    status.add_argument("--health", action="store_true", help="the nodes' health instead of a run")
    status.add_argument(
        "--follow",
        action="store_true",
        help="stream events until the run ends (with --health: until Ctrl-C)",
    )
    for parser, handler in ((listing, list_workflows), (show, show_workflow), (run, run_workflow)):
        add_api_options(parser)
        parser.set_defaults(handler=handler)
    add_api_options(status)
    status.set_defaults(handler=workflow_status)


@api_command
def list_workflows(args: argparse.Namespace, api: TrellisApi, out: Output) -> int:
    rows: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        filter_ = {"workspaceId": args.workspace} if args.workspace else None
        page = api.call(LIST, {"after": after, "filter": filter_})["workflows"]
        rows.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    text = table(
        [(w["id"], w["name"], w["status"], w["namespace"], w["updatedAt"]) for w in rows],
        ("id", "name", "status", "namespace", "updated"),
    )
    out.data(rows, text if rows else "no workflows")
    return Exit.OK


@api_command
def show_workflow(args: argparse.Namespace, api: TrellisApi, out: Output) -> int:
    workflow = api.call(SHOW, {"id": args.id})["workflow"]
    fields = ("id", "name", "description", "status", "namespace", "workspaceId", "clusterId", "revision")
    lines = [f"{name}: {'' if workflow[name] is None else workflow[name]}" for name in fields]
    nodes = [(n["id"], n["kind"], (n["data"] or {}).get("name", "")) for n in workflow["nodes"]]
    lines += ["", table(nodes, ("node", "kind", "name")) if nodes else "no nodes"]
    edges = [(e["id"], e["source"], e["target"]) for e in workflow["edges"]]
    if edges:
        lines += ["", table(edges, ("edge", "source", "target"))]
    out.data(workflow, "\n".join(lines))
    return Exit.OK


def _cluster_id(api: TrellisApi, workflow_id: str, wanted: str) -> str:
    workspace = api.call(SHOW, {"id": workflow_id})["workflow"]["workspaceId"]
    clusters = api.call(CLUSTERS, {"ws": workspace})["clusters"]
    for cluster in clusters:
        if wanted in (cluster["id"], cluster["name"]):
            return str(cluster["id"])
    names = ", ".join(c["name"] for c in clusters) or "none"
    raise ApiError.of("NOT_FOUND", f"no cluster {wanted!r} in the workflow's workspace (there: {names})")


@api_command
def run_workflow(args: argparse.Namespace, api: TrellisApi, out: Output) -> int:
    if args.cluster:
        api.call(SET_CLUSTER, {"id": args.id, "cluster": _cluster_id(api, args.id, args.cluster)})
    run = api.call(RUN, {"id": args.id})["runWorkflow"]["run"]
    if not args.wait:
        out.data(run, f"run {run['id']} {run['status']}")
        return Exit.OK
    out.message(f"run {run['id']} {run['status']}")
    return _follow_run(api, out, run["id"])


@api_command
def workflow_status(args: argparse.Namespace, api: TrellisApi, out: Output) -> int:
    if args.health:
        return asyncio.run(_health(api, out, args.id, follow=args.follow))
    if args.run_id:
        run = api.call(GET_RUN, {"id": args.run_id})["run"]
        if run["workflowId"] != args.id:
            raise ApiError.of("NOT_FOUND", f"run {args.run_id} is not a run of workflow {args.id}")
    else:
        runs = api.call(LATEST_RUN, {"id": args.id})["runs"]["nodes"]
        if not runs:
            out.data(None, f"workflow {args.id} has not run yet")
            return Exit.OK
        run = runs[0]
    if args.follow:  # a run that has ended gives METADATA and COMPLETE at once
        return _follow_run(api, out, run["id"])
    out.data(run, _run_text(run))
    return _run_exit(run)


def _run_exit(run: dict[str, Any]) -> Exit:
    return Exit.FAILED if run["status"] in FINISHED - {"COMPLETED"} else Exit.OK


def _run_text(run: dict[str, Any]) -> str:
    lines = [f"run {run['id']} (version {run['version']}): {run['status']}"]
    if run.get("error"):
        lines.append(f"error: {run['error']}")
    lines += [f"warning: {w}" for w in run.get("warnings") or []]
    states = [(s["nodeId"], s["status"], s["message"] or "") for s in run["nodeStates"]]
    if states:
        lines += ["", table(states, ("node", "status", "message"))]
    return "\n".join(lines)


def _follow_run(api: TrellisApi, out: Output, run_id: str) -> int:
    """Print the run's events until COMPLETE; exit 0 when it COMPLETED, 1 otherwise."""
    final: dict[str, Any] | None = None

    async def follow() -> None:
        nonlocal final
        async for data in subscribe(api.base_url, api.token, RUN_STATUS, {"id": run_id}):
            event = data["runStatus"]
            run = event["run"] or final
            final = run
            out.data(event, _event_text(event))
            if run is not None:
                done = sum(1 for s in run["nodeStates"] if s["status"] not in ("PENDING", "APPLYING"))
                out.progress(f"run {run_id}: {run['status']} {done}/{len(run['nodeStates'])} nodes")
            if event["type"] == "COMPLETE":
                return

    asyncio.run(follow())
    out.clear_progress()
    if final is None:
        return Exit.FAILED
    if not out.json:
        out.message(f"run {run_id} {final['status']}")
    return _run_exit(final)


def _event_text(event: dict[str, Any]) -> str | None:
    kind = event["type"]
    if kind == "NODE_UPDATE" and event["node"]:
        node = event["node"]
        return f"{event['at']}  {node['nodeId']}: {node['status']}" + (
            f" ({node['message']})" if node["message"] else ""
        )
    if kind in ("METADATA", "COMPLETE") and event["run"]:
        return f"{event['at']}  run {event['run']['status']}" + (
            f": {event['run']['error']}" if event["run"].get("error") else ""
        )
    if kind == "ERROR":
        return f"{event['at']}  error: {event['message']}"
    return None


async def _health(api: TrellisApi, out: Output, workflow_id: str, *, follow: bool) -> int:
    async with aclosing(subscribe(api.base_url, api.token, WORKFLOW_STATUS, {"id": workflow_id})) as events:
        async for data in events:
            event = data["workflowStatus"]
            out.data(event, _health_text(event["type"], event["nodes"]))
            if not follow:
                break
    return Exit.OK


def _health_text(kind: str, nodes: Iterable[dict[str, Any]]) -> str:
    rows = [(n["nodeId"], n["health"], n["message"]) for n in nodes]
    return f"{kind}\n" + table(rows, ("node", "health", "message")) if rows else kind
