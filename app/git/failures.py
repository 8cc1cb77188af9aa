"""What a failed git command means, from its stderr (C locale), as a message a person can act on."""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.imports import CloneFailed, CloneFailure

MAX_DETAIL = 300

_AUTHENTICATION = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "permission denied (publickey",
    "http basic: access denied",
    "invalid username or password",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
)
_REF = ("couldn't find remote ref", "not our ref", "unadvertised object", "no such ref")
_NOT_FOUND = (
    "repository not found",
    "does not appear to be a git repository",
    "the requested url returned error: 404",
    "not found",
)
_UNREACHABLE = (
    "could not resolve host",
    "could not resolve hostname",
    "failed to connect",
    "connection refused",
    "connection timed out",
    "no route to host",
    "network is unreachable",
    "ssl",
    "tls",
    "certificate",
    "host key verification failed",
    "connection reset",
    "empty reply from server",
)
_REDIRECT = ("returned error: 301", "returned error: 302", "returned error: 307", "returned error: 308")


def _detail(lines: Sequence[str]) -> str:
    """The most telling line: the last ``fatal:`` or ``error:`` one, else the last one."""
    chosen = next(
        (line for line in reversed(lines) if line.lower().startswith(("fatal:", "error:"))),
        lines[-1] if lines else "git gave no reason",
    )
    for prefix in ("fatal: ", "error: "):
        chosen = chosen.removeprefix(prefix)
    return chosen[:MAX_DETAIL]


def classify(lines: Sequence[str], *, host: str, ref: str | None, with_credentials: bool) -> CloneFailed:
    """The failure that git's stderr ``lines`` describe."""
    text = "\n".join(lines).lower()
    detail = _detail(lines)
    if any(marker in text for marker in _AUTHENTICATION):
        if with_credentials:
            message = f"authentication failed: {host} refused the workspace's Git credential for it"
        else:
            message = (
                f"authentication failed: the repository needs credentials; add a Git credential for {host} "
                "to the workspace"
            )
        return CloneFailed(CloneFailure.AUTHENTICATION_FAILED, message)
    if any(marker in text for marker in _REF):
        what = f"the ref {ref!r} was not found" if ref else "the default branch could not be fetched"
        return CloneFailed(
            CloneFailure.REF_NOT_FOUND,
            f"{what} in the repository (give a branch, a tag or a full commit sha)",
        )
    if any(marker in text for marker in _REDIRECT) or "redirect" in text:
        return CloneFailed(
            CloneFailure.FAILED,
            "the server answered with a redirect, which is not followed: give the repository's final address",
        )
    if any(marker in text for marker in _NOT_FOUND):
        hint = "" if with_credentials else f" (if it is private, add a Git credential for {host})"
        return CloneFailed(CloneFailure.NOT_FOUND, f"the repository was not found on {host}{hint}")
    if any(marker in text for marker in _UNREACHABLE):
        return CloneFailed(CloneFailure.UNREACHABLE, f"{host} could not be reached: {detail}")
    return CloneFailed(CloneFailure.FAILED, f"git could not fetch the repository: {detail}")
