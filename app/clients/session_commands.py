"""`trellis login` signs in with e-mail and password and keeps the session token for that server;
`trellis logout` ends the session on the server and forgets it."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from app.clients.connection import add_api_options, server_url
from app.clients.credentials import (
    CredentialsError,
    credentials_path,
    forget_session,
    store_session,
    stored_session,
)
from app.clients.output import Exit, Output
from app.clients.trellis_api import ApiError, TrellisApi


def register(commands: Any) -> None:
    login = commands.add_parser("login", help="sign in and keep the session for this server")
    add_api_options(login)
    login.add_argument("--email", help="your e-mail (asked for when left out)")
    login.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input, not a prompt"
    )
    login.set_defaults(handler=log_in)
    logout = commands.add_parser("logout", help="end the stored session for this server and forget it")
    add_api_options(logout)
    logout.set_defaults(handler=log_out)


def _ask(prompt: str) -> str:
    """A line from standard input, the prompt on standard error (stdout stays for ``--output json``)."""
    print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.strip()


def _password(args: argparse.Namespace, email: str) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return getpass.getpass(f"password for {email}: ")


def log_in(args: argparse.Namespace) -> int:
    out = Output(args.output)
    url = server_url(args)
    try:
        email = args.email or _ask("e-mail: ")
        password = _password(args, email)
    except (EOFError, KeyboardInterrupt):
        out.message("no credentials given")
        return Exit.USAGE
    if not email or not password:
        out.message("an e-mail and a password are needed")
        return Exit.USAGE
    try:
        with TrellisApi(url) as api:
            payload = api.login(email, password)
        path = store_session(url, payload["token"], payload["user"]["email"], payload["expiresAt"])
    except ApiError as exc:
        return out.error(exc)
    except (CredentialsError, OSError) as exc:
        out.message(f"signed in, but the session could not be kept: {exc}")
        return Exit.FAILED
    summary = {"url": url, "email": payload["user"]["email"], "expiresAt": payload["expiresAt"]}
    out.data(summary, f"signed in to {url} as {summary['email']} (until {summary['expiresAt']})")
    out.message(f"session kept in {path}")
    return Exit.OK


def log_out(args: argparse.Namespace) -> int:
    out = Output(args.output)
    url = server_url(args)
    try:
        session = stored_session(url)
        if session is None:
            out.data({"url": url, "signedOut": False}, f"not signed in to {url}")
            return Exit.OK
        try:
            with TrellisApi(url, token=str(session["token"])) as api:
                api.call("mutation { logout { sessionEnded } }")
        except ApiError as exc:  # an expired or revoked session, or no server: forget it all the same
            out.message(f"the server did not end the session ({exc}); forgetting it here")
        forget_session(url)
    except (CredentialsError, OSError) as exc:
        out.message(f"cannot update {credentials_path()}: {exc}")
        return Exit.FAILED
    out.data({"url": url, "signedOut": True}, f"signed out of {url}")
    return Exit.OK
