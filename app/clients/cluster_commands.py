"""`trellis clusters add`: register clusters from a local kubeconfig through the API."""

from __future__ import annotations

import argparse
import getpass
import sys

import yaml

from app.clients.credentials import stored_session
from app.clients.kubeconfig_files import context_names, minified
from app.clients.output import Exit, exit_code
from app.clients.trellis_api import ApiError, TrellisApi

REGISTER = """mutation($input: RegisterClusterInput!) { registerCluster(input: $input) {
  cluster { id name server status { reachable serverVersion reason } } } }"""


def add_clusters(args: argparse.Namespace) -> int:
    path = args.kubeconfig.expanduser()
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        print(f"cannot read the kubeconfig {path}: {exc}", file=sys.stderr)
        return 2
    contexts = context_names(doc) if args.all_contexts else [args.context or doc.get("current-context")]
    if args.name and len(contexts) > 1:
        print("--name names one cluster; leave it out with --all-contexts", file=sys.stderr)
        return 2
    failures = 0
    with TrellisApi(args.url, token=args.token) as api:
        try:
            if api.token is None and not args.email:
                session = stored_session(args.url)
                if session is None:
                    print(
                        "give --token (or TRELLIS_TOKEN), --email to sign in, or run `trellis login` first",
                        file=sys.stderr,
                    )
                    return Exit.NOT_SIGNED_IN
                api.token = str(session["token"])
            if api.token is None:
                api.login(args.email, getpass.getpass(f"password for {args.email}: "))
            for context in contexts:
                try:
                    kubeconfig = yaml.safe_dump(minified(doc, context, path.parent))
                except (ValueError, OSError) as exc:
                    print(f"{context}: {exc}", file=sys.stderr)
                    failures += 1
                    continue
                variables = {
                    "input": {
                        "name": args.name or context,
                        "authType": "KUBECONFIG",
                        "kubeconfig": kubeconfig,
                        "workspaceId": args.workspace,
                    }
                }
                try:
                    cluster = api.call(REGISTER, variables)["registerCluster"]["cluster"]
                except ApiError as exc:
                    print(f"{context}: {exc}", file=sys.stderr)
                    failures += 1
                    continue
                status = cluster["status"] or {}
                state = (
                    f"reachable, Kubernetes {status.get('serverVersion')}"
                    if status.get("reachable")
                    else f"not reachable: {status.get('reason')}"
                )
                print(f"registered {cluster['name']} ({cluster['server']}) as {cluster['id']}: {state}")
        except ApiError as exc:
            print(str(exc), file=sys.stderr)
            return exit_code(exc)
    return 1 if failures else 0
