"""Sessions kept by `trellis login`: ``$XDG_CONFIG_HOME/trellis/credentials.json`` (``~/.config`` by
default), readable by its owner only, holding one entry per server URL (token, e-mail, expiry)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000"


def normal_url(url: str) -> str:
    return url.strip().rstrip("/")


def credentials_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "trellis" / "credentials.json"


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {"servers": {}}
    except (OSError, ValueError) as exc:
        raise CredentialsError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("servers"), dict):
        raise CredentialsError(f"{path} is not a Trellis credentials file")
    return data


def _save(path: Path, data: Mapping[str, Any]) -> None:
    """Write atomically: a private temporary file in the same folder, then a rename."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".credentials-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class CredentialsError(Exception):
    """The credentials file exists but cannot be used."""


def stored_session(url: str, path: Path | None = None) -> dict[str, Any] | None:
    """The entry stored for ``url`` (``token``, ``email``, ``expiresAt``), if any."""
    entry = _load(path or credentials_path())["servers"].get(normal_url(url))
    return entry if isinstance(entry, dict) and isinstance(entry.get("token"), str) else None


def store_session(url: str, token: str, email: str, expires_at: str, path: Path | None = None) -> Path:
    target = path or credentials_path()
    data = _load(target)
    data["servers"][normal_url(url)] = {"token": token, "email": email, "expiresAt": expires_at}
    _save(target, data)
    return target


def forget_session(url: str, path: Path | None = None) -> bool:
    """Remove the entry of ``url``; False when there was none."""
    target = path or credentials_path()
    data = _load(target)
    if data["servers"].pop(normal_url(url), None) is None:
        return False
    _save(target, data)
    return True
