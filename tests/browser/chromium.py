"""Debian's Chromium for the browser tests: where it is, and the flags every test starts it with."""

from __future__ import annotations

import os
import shutil

import pytest

# Headless, no GPU, no QUIC, nothing fetched in the background; every host but 127.0.0.1 is "not found",
# so a page that still needed a CDN fails.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)


def chromium() -> str:
    """The Chromium binary ($CHROMIUM, then PATH, then /usr/bin/chromium); fails in CI, skips elsewhere."""
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if os.environ.get("CI"):
        pytest.fail("Chromium is required in CI for the GraphiQL browser test: apt-get install -y chromium")
    pytest.skip("Chromium is not installed (apt-get install -y chromium) and CI is not set")
