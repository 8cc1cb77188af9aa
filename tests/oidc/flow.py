"""A browser, without a browser: follows an OAuth sign-in through Trellis and the provider with httpx.

The provider's development interactions are documented: ``GET /interaction/:uid`` shows a login form
(``prompt=login``, ``login``, ``password``) or a consent form (``prompt=consent``), each submitted with
``POST /interaction/:uid``; every other step is a redirect.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

MAX_STEPS = 20


@dataclass(frozen=True)
class Landing:
    """Where the browser ended up on the front end, and the provider's redirect back to Trellis."""

    url: str
    callback_url: str

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.url).query).items()}


async def authorize(trellis: str, provider: str, **params: str) -> str:
    """The provider URL Trellis's authorize route redirects to (checked to be a 302)."""
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(f"{trellis}/v1/auth/oauth/{provider}/authorize", params=params)
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def to_callback(start: str, trellis: str, *, login: str) -> str:
    """Drive the provider from its authorization URL ``start`` (logging in as account ``login`` and
    consenting) until it redirects to Trellis; return that callback URL (not yet followed)."""
    async with httpx.AsyncClient(timeout=30) as browser:
        url = start
        for _ in range(MAX_STEPS):
            if url.startswith(trellis):
                return url
            response = await browser.get(url)
            if response.status_code in (302, 303):
                url = urljoin(url, response.headers["location"])
                continue
            assert response.status_code == 200, (url, response.status_code, response.text[:500])
            form = (
                {"prompt": "login", "login": login, "password": "any"}
                if 'name="login"' in response.text
                else {"prompt": "consent"}
            )
            response = await browser.post(url, data=form)
            assert response.status_code in (302, 303), (response.status_code, response.text[:500])
            url = urljoin(url, response.headers["location"])
    raise AssertionError(f"the provider did not send the browser back within {MAX_STEPS} steps")


async def follow_callback(callback_url: str) -> str:
    """Trellis's answer to the provider's redirect: the front-end URL it sends the browser to."""
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(callback_url)
    assert response.status_code == 302, response.text
    assert response.headers.get("cache-control") == "no-store"
    return response.headers["location"]


async def sign_in(trellis: str, provider: str, *, login: str, **params: str) -> Landing:
    """The whole flow: authorize → the provider's login and consent → callback → the front end."""
    start = await authorize(trellis, provider, **params)
    callback = await to_callback(start, trellis, login=login)
    return Landing(await follow_callback(callback), callback)
