"""The token exchanges of the cloud registries, each as its provider documents it.

* **ECR**: ``GetAuthorizationToken`` of the ECR JSON API (``POST /`` with ``X-Amz-Target:
  AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken``, AWS JSON 1.1, SigV4-signed for service
  ``ecr``) gives ``authorizationData[0].authorizationToken`` — base64 of ``AWS:<password>`` — valid
  until ``expiresAt`` (12 hours).
* **GCR / Artifact Registry**: a service-account JWT (RS256; ``iss`` the account's e-mail, ``scope``
  cloud-platform, ``aud`` the token endpoint, an hour long) exchanged at Google's OAuth2 token endpoint
  (``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``) for an access token, which the registry
  takes as the password of ``oauth2accesstoken``.
* **ACR** with a service principal: Microsoft Entra ID's client-credentials grant
  (``<authority>/<tenant>/oauth2/v2.0/token``) gives an access token; the registry's
  ``POST /oauth2/exchange`` (``grant_type=access_token``) turns it into a refresh token, which the
  registry's own token service (its Bearer challenge's realm, ``/oauth2/token``) takes.

Every endpoint but ACR's own comes from settings, so tests point them at loopback servers.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import jwt

from app.domain.registries import (
    ECR_USERNAME,
    PullAuth,
    RegistryCredentials,
    ServiceAccountKey,
)
from app.registry.handshake import detail
from app.registry.sigv4 import AwsCredentials, sign
from app.registry.transport import Answer, GuardedHttp, Refused, Unreachable

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
ECR_CONTENT_TYPE = "application/x-amz-json-1.1"
ECR_SERVICE = "ecr"
GOOGLE_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GOOGLE_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_ASSERTION_LIFETIME = timedelta(hours=1)
AZURE_SCOPE = "https://containerregistry.azure.net/.default"

ECR = "AWS ECR (GetAuthorizationToken)"
GOOGLE = "Google's OAuth2 token endpoint"
ENTRA = "Microsoft Entra ID"
ACR_EXCHANGE = "the registry's token exchange (/oauth2/exchange)"


def ecr_endpoint(template: str, region: str) -> str:
    """The ECR API URL of ``region`` from a template such as ``https://api.ecr.{region}.amazonaws.com/``."""
    url = template.replace("{region}", region)
    return url if urlsplit(url).path else f"{url}/"


async def ecr_authorization(
    http: GuardedHttp, credentials: RegistryCredentials, *, endpoint_template: str, at: datetime
) -> PullAuth:
    """The registry login ``GetAuthorizationToken`` gives, with its expiry."""
    region = credentials.region or ""
    url = ecr_endpoint(endpoint_template, region)
    body = b"{}"
    headers = sign(
        "POST",
        url,
        {"Content-Type": ECR_CONTENT_TYPE, "X-Amz-Target": ECR_TARGET},
        body,
        credentials=AwsCredentials(
            credentials.access_key_id or "", credentials.secret_access_key or "", credentials.session_token
        ),
        region=region,
        service=ECR_SERVICE,
        at=at,
    )
    answer = await http.request("POST", url, what=ECR, headers=headers, content=body)
    _refused_or_failed(ECR, answer, refused=(400, 401, 403))
    data = answer.json()
    items = data.get("authorizationData") if isinstance(data, dict) else None
    item = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
    token, expires = item.get("authorizationToken"), item.get("expiresAt")
    if not isinstance(token, str) or not isinstance(expires, int | float) or isinstance(expires, bool):
        raise Unreachable(f"{ECR} answered without authorizationData (authorizationToken, expiresAt)")
    try:
        username, colon, password = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unreachable(f"{ECR} answered with an authorization token that is not base64") from exc
    if not colon:
        raise Unreachable(f"{ECR} answered with an authorization token that is not user:password")
    return PullAuth(username or ECR_USERNAME, password, datetime.fromtimestamp(float(expires), UTC))


def service_account_assertion(key: ServiceAccountKey, *, audience: str, at: datetime) -> str:
    """The signed JWT a service account presents to Google's token endpoint."""
    issued = int(at.timestamp())
    claims = {
        "iss": key.client_email,
        "scope": GOOGLE_SCOPE,
        "aud": audience,
        "iat": issued,
        "exp": issued + int(GOOGLE_ASSERTION_LIFETIME.total_seconds()),
    }
    headers = {"kid": key.private_key_id} if key.private_key_id else None
    try:
        return jwt.encode(claims, key.private_key, algorithm="RS256", headers=headers)
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise Refused(f"the service account's private key cannot sign (it is not an RSA key: {exc})") from exc


async def google_access_token(
    http: GuardedHttp, key: ServiceAccountKey, *, token_url: str, at: datetime
) -> str:
    """An OAuth2 access token for the service account."""
    assertion = service_account_assertion(key, audience=token_url, at=at)
    answer = await http.request(
        "POST", token_url, what=GOOGLE, form={"grant_type": GOOGLE_GRANT, "assertion": assertion}
    )
    _refused_or_failed(GOOGLE, answer, refused=(400, 401, 403))
    return _field(GOOGLE, answer, "access_token")


async def azure_refresh_token(
    http: GuardedHttp, credentials: RegistryCredentials, *, registry_url: str, authority: str
) -> str:
    """A refresh token of the registry for the service principal (Entra ID token, then the exchange)."""
    tenant = credentials.tenant_id or ""
    token_url = f"{authority.rstrip('/')}/{quote(tenant, safe='')}/oauth2/v2.0/token"
    answer = await http.request(
        "POST",
        token_url,
        what=ENTRA,
        form={
            "grant_type": "client_credentials",
            "client_id": credentials.client_id or "",
            "client_secret": credentials.client_secret or "",
            "scope": AZURE_SCOPE,
        },
    )
    _refused_or_failed(ENTRA, answer, refused=(400, 401, 403))
    access_token = _field(ENTRA, answer, "access_token")
    exchange = await http.request(
        "POST",
        f"{registry_url.rstrip('/')}/oauth2/exchange",
        what=ACR_EXCHANGE,
        form={
            "grant_type": "access_token",
            "service": urlsplit(registry_url).netloc,
            "tenant": tenant,
            "access_token": access_token,
        },
    )
    _refused_or_failed(ACR_EXCHANGE, exchange, refused=(400, 401, 403))
    return _field(ACR_EXCHANGE, exchange, "refresh_token")


def _refused_or_failed(who: str, answer: Answer, *, refused: tuple[int, ...]) -> None:
    if answer.status == 200:
        return
    reason = detail(answer) or "no reason given"
    if answer.status in refused:
        raise Refused(f"{who} refused the credentials (HTTP {answer.status}): {reason}")
    raise Unreachable(f"{who} answered HTTP {answer.status}: {reason}")


def _field(who: str, answer: Answer, name: str) -> str:
    body = answer.json()
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise Unreachable(f"{who} answered 200 without {name}")
    return value
