"""What every API command shares: the ``--url`` and ``--output`` options, finding the token
(``TRELLIS_TOKEN``, else the session stored by `trellis login`), and turning failures into exit codes."""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable

from app.clients.credentials import DEFAULT_URL, CredentialsError, normal_url, stored_session
from app.clients.output import Exit, Output
from app.clients.trellis_api import ApiError, TrellisApi

Handler = Callable[[argparse.Namespace, TrellisApi, Output], int]


def add_api_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help=f"Trellis URL (default: TRELLIS_URL or {DEFAULT_URL})")
    parser.add_argument(
        "--output", choices=("text", "json"), default="text", help="json: stable JSON on stdout, for scripts"
    )


def server_url(args: argparse.Namespace) -> str:
    return normal_url(args.url or os.environ.get("TRELLIS_URL") or DEFAULT_URL)


class NotSignedIn(Exception):
    """Neither ``TRELLIS_TOKEN`` nor a stored session for the server."""


def token_for(url: str) -> str:
    token = os.environ.get("TRELLIS_TOKEN")
    if token:
        return token
    session = stored_session(url)
    if session is None:
        raise NotSignedIn(
            f"not signed in to {url}: run `trellis login --url {url}` or set TRELLIS_TOKEN "
            "(a login token or a personal API token)"
        )
    return str(session["token"])


def api_command(handler: Handler) -> Callable[[argparse.Namespace], int]:
    """``handler`` run with a signed-in client; API errors, a missing sign-in and Ctrl-C become exit codes."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        out = Output(args.output)
        url = server_url(args)
        try:
            token = token_for(url)
            with TrellisApi(url, token=token) as api:
                return handler(args, api, out)
        except NotSignedIn as exc:
            out.message(str(exc))
            return Exit.NOT_SIGNED_IN
        except CredentialsError as exc:
            out.message(str(exc))
            return Exit.NOT_SIGNED_IN
        except ApiError as exc:
            code = out.error(exc)
            if code is Exit.NOT_SIGNED_IN and not os.environ.get("TRELLIS_TOKEN"):
                out.message(
                    f"the kept session no longer works: sign in again with `trellis login --url {url}`"
                )
            return code
        except KeyboardInterrupt:
            out.message("interrupted")
            return Exit.INTERRUPTED
        finally:
            out.clear_progress()

    return run
